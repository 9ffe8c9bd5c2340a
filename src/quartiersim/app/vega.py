"""A Vega-Lite chart widget that draws SVG (crisp text, printable, and its labels and
legends are elements a browser test can measure) without vega-embed's action menu.

Like solara's ``solara.widgets.VegaLite`` it loads vega, vega-lite and vega-embed from
solara's CDN proxy (``/_solara/cdn/``, filled offline by scripts/install-browser-deps.sh).
After each drawing the chart's element carries ``data-rendered="<spec id>"``
(``spec["usermeta"]["id"]``), so a test can wait for exactly this drawing; the previous
Vega view is finalized before the next is made. A spec that differs from the drawn one
only in its ``datasets`` (the next month's values) updates the drawn view's data
(``view.data``) instead of compiling and drawing it anew.
"""

from __future__ import annotations

import itertools
from typing import Any

import ipyvuetify as v
import solara
import traitlets

TEMPLATE = r"""
<template>
  <div class="qs-vega" data-rendered=""><div ref="plot"></div></div>
</template>
<script>
module.exports = {
  created() { this.vegaLoaded = this.loadVega(); },
  mounted() { this.draw(); },
  destroyed() { if (this.view) { this.view.finalize(); } },
  watch: { spec() { this.draw(); } },
  methods: {
    async draw() {
      await this.vegaLoaded;
      const spec = JSON.parse(JSON.stringify(this.spec));
      if (!spec || !spec.$schema) { return; }
      const id = (spec.usermeta && spec.usermeta.id) || "";
      this.drawing = id;
      const datasets = spec.datasets || {};
      const shape = JSON.stringify({...spec, datasets: Object.keys(datasets), usermeta: null});
      if (this.view && shape === this.shape) {
        // only the data changed (a new month): update the drawn view's datasets
        for (const [name, values] of Object.entries(datasets)) { this.view.data(name, values); }
        await this.view.runAsync();
        if (this.drawing === id) { this.$el.setAttribute('data-rendered', id); }
        return;
      }
      require(['vega', 'vega-lite', 'vega-embed'], (vega, vl, vegaEmbed) => {
        (async () => {
          const result = await vegaEmbed(this.$refs.plot, spec,
            {renderer: "svg", actions: false, tooltip: {theme: "light"}});
          if (this.view && this.view !== result.view) { this.view.finalize(); }
          this.view = result.view;
          this.shape = shape;
          if (this.drawing === id) { this.$el.setAttribute('data-rendered', id); }
        })();
      });
    },
    async loadVega() {
      await this.loadRequire();
      const cdn = this.getCdn();
      requirejs.undef("vega");
      requirejs.undef("vega-lite");
      requirejs.undef("vega-embed");
      require.config({map: {'*': {
        'vega': `${cdn}/vega@5/build/vega.min.js`,
        'vega-lite': `${cdn}/vega-lite@5/build/vega-lite.min.js`,
        'vega-embed': `${cdn}/vega-embed@6/build/vega-embed.min.js`}}});
      await new Promise((resolve, reject) => {
        require(['vega', 'vega-lite', 'vega-embed'], () => resolve(), reject); });
    },
    loadRequire() {
      if (window.requirejs) { return Promise.resolve(); }
      return new Promise((resolve, reject) => {
        const script = document.createElement('script');
        script.src = `${this.getCdn()}/requirejs@2.3.6/require.js`;
        script.onload = resolve; script.onerror = reject;
        document.head.appendChild(script);
      });
    },
    getCdn() {
      if (this.cdn) { return this.cdn; }
      if (window.solara && window.solara.cdn) { return window.solara.cdn; }
      let base = document.body.dataset.baseUrl || document.baseURI;
      if (!base.endsWith('/')) { base += '/'; }
      return `${base}_solara/cdn`;
    }
  }
}
</script>
"""

_ids = itertools.count(1)


class VegaChart(v.VuetifyTemplate):
    """The widget: ``spec`` (a Vega-Lite dict) is drawn as SVG on every change."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    cdn = traitlets.Unicode(None, allow_none=True).tag(sync=True)

    @traitlets.default("cdn")
    def _cdn(self) -> str | None:
        import solara.settings

        return None if solara.settings.assets.proxy else solara.settings.assets.cdn


def with_id(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with a fresh ``usermeta.id`` (the chart's ``data-rendered`` once drawn)."""
    return {**spec, "usermeta": {**spec.get("usermeta", {}), "id": f"s{next(_ids)}"}}


@solara.component
def Chart(spec: dict[str, Any] | None, classes: list[str] | None = None) -> None:
    """A chart card body: the spec drawn by :class:`VegaChart` (set in an effect, so
    reacton does not walk the spec's thousands of values on every render)."""
    widget = solara.use_memo(lambda: VegaChart(spec={}), [])

    def draw() -> None:
        if spec is not None:
            widget.spec = with_id(spec)

    solara.use_effect(draw, [id(spec)])
    solara.Column(children=[widget], classes=classes or [], style={"overflow-x": "auto"})
