"""The interactive quartiersim app (Solara on Mesa's SolaraViz): ``quartiersim app`` or
``solara run src/quartiersim/app/app.py``. Only drawing, controls and the what-if panel live here; the
model, levers and what-if runs come from :mod:`quartiersim`."""
