"""The networks: published StarcNet layout and weights file, torchvision-keyed ResNet/VGG,
transfer-learning adaptation, and the fast inference path against plain eager."""

import numpy as np
import pytest
import torch

from vocluster.classification.choices import ARCHITECTURES
from vocluster.classification.inference import Predictor
from vocluster.classification.nets import build_net
from vocluster.classification.nets.resnet import LAYOUTS
from vocluster.classification.nets.starcnet import CONV_NAMES, NORM_NAMES, StarcNet, zoom_crops
from vocluster.classification.nets.vgg import CONFIGS
from vocluster.classification.transfer import adapt_first_conv, load_pretrained
from vocluster.errors import InputError


def test_starcnet_has_the_published_size_and_keys():
    net = StarcNet()
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(15.27e6, rel=1e-3)
    expected = set()
    for prefix in ("", "a", "aa"):
        for name in (*CONV_NAMES, *NORM_NAMES, "fc1", "bn13"):
            expected |= {f"{prefix}{name}.weight", f"{prefix}{name}.bias"}
    expected |= {"fc2.weight", "fc2.bias"}
    assert set(net.state_dict()) == expected
    assert net.fc1.in_features == 128 * 16 * 16 and net.fc2.in_features == 384
    assert isinstance(net.abn7, torch.nn.GroupNorm) and net.abn7.num_groups == 8


def test_starcnet_weights_file_written_elsewhere_loads_as_is(tmp_path):
    """A plain state_dict saved from an independently built net (as starcnet.pth is)."""
    torch.manual_seed(3)
    reference = StarcNet()
    path = tmp_path / "starcnet.pth"
    torch.save(reference.state_dict(), path)
    net = StarcNet()
    net.load_state_dict(torch.load(path, weights_only=True))
    x = torch.randn(2, 5, 32, 32)
    assert torch.equal(net.eval()(x), reference.eval()(x))


def test_zoom_crops_are_nearest_upsampled_central_windows():
    x = torch.arange(32 * 32, dtype=torch.float32).view(1, 1, 32, 32)
    full, mid, small = zoom_crops(x)
    assert full.shape == mid.shape == small.shape == (1, 1, 32, 32)
    assert set(mid.unique().tolist()) == set(x[0, 0, 6:26, 6:26].unique().tolist())
    assert set(small.unique().tolist()) == set(x[0, 0, 11:22, 11:22].unique().tolist())
    with pytest.raises(ValueError, match="32 x 32"):
        StarcNet()(torch.zeros(1, 5, 40, 40))


def test_every_offered_architecture_builds_and_no_other():
    """The CLI's torch-free list of names and the nets that exist stay the same set."""
    for arch in ARCHITECTURES:
        assert isinstance(build_net(arch, 3, 2), torch.nn.Module)
    assert {"starcnet", *LAYOUTS, *CONFIGS, *(f"{d}_bn" for d in CONFIGS)} == set(ARCHITECTURES)


@pytest.mark.parametrize(("arch", "params", "keys"), [
    ("resnet18", 11_689_512, 122), ("resnet50", 25_557_032, 320),
    ("vgg16", 138_357_544, 32), ("vgg16_bn", 138_365_992, 97),
    ("vgg19", 143_667_240, 38), ("vgg19_bn", 143_678_248, 118)])
def test_transfer_nets_match_torchvision_counts(arch, params, keys):
    """torchvision's published parameter counts and state_dict sizes (3 bands, 1000 classes)."""
    net = build_net(arch, 3, 1000)
    assert sum(p.numel() for p in net.parameters()) == params
    assert len(net.state_dict()) == keys


def test_torchvision_key_names():
    resnet = build_net("resnet50", 3, 1000).state_dict()
    for key in ("conv1.weight", "bn1.running_var", "layer1.0.downsample.0.weight",
                "layer1.0.downsample.1.num_batches_tracked", "layer4.2.conv3.weight", "fc.bias"):
        assert key in resnet
    vgg = build_net("vgg16_bn", 3, 1000).state_dict()
    for key in ("features.0.weight", "features.1.running_mean", "features.40.weight",
                "classifier.0.weight", "classifier.6.bias"):
        assert key in vgg


def test_imagenet_weights_load_into_five_band_two_class_net(tmp_path):
    torch.manual_seed(0)
    imagenet = build_net("resnet18", 3, 1000)
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(imagenet.state_dict(), path)
    net = build_net("resnet18", 6, 2)
    skipped = load_pretrained(net, path)
    assert skipped == ["fc.weight", "fc.bias"]
    assert torch.equal(net.layer3[1].conv2.weight, imagenet.layer3[1].conv2.weight)
    # PHANGS recipe: two copies of the RGB filters, halved, so a 6-channel input made of
    # the same image twice gives exactly the RGB net's response
    rgb = imagenet.conv1.weight
    assert torch.allclose(net.conv1.weight[:, :3], rgb / 2) and torch.allclose(
        net.conv1.weight[:, 3:], rgb / 2)
    x = torch.randn(1, 3, 64, 64)
    assert torch.allclose(net.conv1(torch.cat([x, x], 1)), imagenet.conv1(x), atol=1e-5)
    assert adapt_first_conv(rgb, 1).shape == (64, 1, 7, 7)


def test_pretrained_file_sharing_nothing_is_an_error(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"something.weight": torch.zeros(3)}, path)
    with pytest.raises(InputError, match="shares no weights"):
        load_pretrained(build_net("vgg16", 3, 2), path)


def _net_inputs_and_eager(arch: str, n: int, seed: int, width: int):
    """A small net of `arch`, n random 5-band stamps, and its plain eager logits."""
    torch.manual_seed(seed)
    options = {"width": width, "hidden": width} if arch == "starcnet" else {}
    net = build_net(arch, 5, 4, **options).eval()
    x = torch.randn(n, 5, 32, 32)
    with torch.no_grad():
        return net, x, net(x)


@pytest.mark.parametrize("arch", ["starcnet", "resnet18", "vgg16_bn"])
def test_fast_predictor_matches_eager_logits(arch):
    net, x, eager = _net_inputs_and_eager(arch, 37, seed=1, width=16)
    fast = Predictor(net, "cpu", fast=True, batch_size=16).logits(x)
    assert fast.shape == (37, 4)
    assert (fast - eager).abs().max() < 1e-4
    assert not np.isnan(fast.numpy()).any()


@pytest.mark.parametrize("arch", ["starcnet", "resnet18"])
def test_onnx_runtime_backend_reproduces_torch(arch):
    """Enough stamps for the default to export the net to ONNX Runtime: it does, once per
    input shape, and its logits agree with eager torch."""
    net, x, eager = _net_inputs_and_eager(arch, 600, seed=2, width=8)
    predictor = Predictor(net, "cpu", batch_size=128)
    fast = predictor.logits(x)
    assert list(predictor._onnx) == [(5, 32, 32)] and predictor._onnx[(5, 32, 32)] is not None
    assert (fast - eager).abs().max() < 1e-4
    few = Predictor(net, "cpu").logits(x[:10])  # too few to be worth an export: torch
    assert (few - eager[:10]).abs().max() < 1e-4
    assert Predictor(net, "cpu", backend="torch")._onnx_for(x) is None
