"""Graph algorithms executed exactly by message passing with a
template-trained update (``python -m permjax.experiments.graphs``)."""
