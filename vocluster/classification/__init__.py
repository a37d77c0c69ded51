"""Cluster-candidate classification from image stamps.

Data flow: cutouts (stamps from band images) -> preprocessing (normalisation, channel
recipe) -> nets (StarcNet, ResNet, VGG, Keras) -> classifier (fit / predict_proba) ->
catalogue (class columns on the input table). training, evaluation, gradcam, card and
store are the tools around it.
"""
