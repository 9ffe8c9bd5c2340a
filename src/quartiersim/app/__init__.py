"""The interactive quartiersim app (Solara components around Mesa models): ``quartiersim app``
or ``solara run src/quartiersim/app/app.py``. Only the page, its texts and the what-if panel
live here; the model, levers and what-if runs come from :mod:`quartiersim`."""
