"""The page's stylesheet: a toolbar that stays in view, the controls beside the map and
charts on a wide screen (1280 px and more) and below the map on a tablet (800 px), no
modal sidebar, and a highlighted Reset while changes are pending."""

CSS = """
.qs-topbar { padding: 6px 16px !important; background: #1f4e9c !important; color: #fff !important;
  flex-wrap: nowrap; }
.qs-lang.v-btn-toggle { background: transparent !important; border: 1px solid rgba(255,255,255,0.6); }
.qs-lang .v-btn.v-btn { color: #fff !important; background: transparent !important; min-width: 44px;
  opacity: 1 !important; }
.qs-lang .v-btn.v-btn--active { background: rgba(255,255,255,0.28) !important; font-weight: 700; }
.qs-topbar .v-sheet, .qs-topbar span { background: transparent !important; color: inherit !important; }
.qs-title { font-size: 18px; font-weight: 600; line-height: 1.3; }
.qs-subtitle-bar { font-size: 12px; opacity: 0.9; }
.qs-toolbar { position: sticky; top: 0; z-index: 6; display: flex; flex-wrap: wrap; gap: 8px;
  align-items: center; padding: 6px 16px; background: #fff; border-bottom: 1px solid #ddd;
  box-shadow: 0 1px 3px rgba(0,0,0,0.08); }
.qs-toolbar .qs-scenario { max-width: 280px; min-width: 200px; flex: 0 1 280px; }
.qs-month { font-weight: 600; font-size: 14px; margin-left: 4px; }
.qs-reset.qs-pending { box-shadow: 0 0 0 3px rgba(255, 152, 0, 0.45);
  animation: qs-pulse 1.4s ease-in-out infinite; }
@keyframes qs-pulse { 50% { box-shadow: 0 0 0 6px rgba(255, 152, 0, 0.15); } }
.qs-pending-note { margin: 8px 16px 0 16px !important; }
.qs-main { display: grid; grid-template-columns: minmax(300px, 350px) minmax(0, 1fr);
  grid-template-areas: "side views" "side whatif"; gap: 12px; padding: 12px 16px;
  align-items: start; }
.qs-side { grid-area: side; position: sticky; top: 64px; max-height: calc(100vh - 76px);
  overflow-y: auto; display: flex; flex-direction: column; gap: 12px; padding-right: 2px; }
.qs-views { grid-area: views; }
.qs-whatif-wrap { grid-area: whatif; min-width: 0; display: flex; flex-direction: column; gap: 12px; }
.qs-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(390px, 1fr)); gap: 12px;
  min-width: 0; }
.qs-card { padding: 8px 12px !important; min-width: 0; overflow: hidden; }
.qs-card .v-card__title { font-size: 15px; padding: 4px 0 8px 0; word-break: normal; }
.qs-group .v-card__title { font-size: 14px; }
.qs-number { margin: 4px 0 10px 0; }
.qs-number-head { align-items: baseline; flex-wrap: wrap; }
.qs-number-label { font-size: 13px; font-weight: 500; }
.qs-number-value { font-size: 13px; font-weight: 600; color: #1f4e9c; }
.qs-slider { margin: 0 !important; }
.qs-field .v-text-field__suffix { font-size: 12px; white-space: nowrap; }
.qs-number-range { font-size: 11px; color: #666; text-align: right; }
.qs-number-note { font-size: 11px; color: #b36200; display: block; }
.qs-map-mode, .qs-map-view { flex-wrap: wrap; }
.qs-map-mode .v-btn, .qs-map-view .v-btn { text-transform: none; letter-spacing: 0; }
.qs-on-screen-text, .qs-on-screen-levers, .qs-pending-list { font-size: 13px; display: block; }
.qs-pending-list { color: #b36200; font-weight: 600; margin-top: 4px; }
.qs-map-when { display: block; font-size: 13px; font-weight: 600; margin: 6px 0 -4px 0; }
.qs-chart-title { font-weight: 600; display: block; }
.qs-chart-empty { color: #666; display: block; padding: 24px 0; }
.qs-vega svg { max-width: none; }
.qs-whatif-intro, .qs-result-intro, .qs-left-out, .qs-note { display: block; font-size: 13px;
  margin: 4px 0; }
.qs-subtitle { display: block; font-weight: 600; margin: 12px 0 4px 0; }
.qs-results-wrap { overflow-x: auto; }
table.qs-results { border-collapse: collapse; width: 100%; font-size: 13px; }
table.qs-results th, table.qs-results td { padding: 3px 8px; border-bottom: 1px solid #e3e3e3;
  text-align: left; vertical-align: top; }
table.qs-results th.num, table.qs-results td.num { text-align: right; white-space: nowrap; }
tr.indent td.label { padding-left: 22px; }
tr.verdict-better td.assessment { color: #1d6b2d; font-weight: 600; }
tr.verdict-worse td.assessment { color: #9b2c20; font-weight: 600; }
.qs-exports .v-btn { text-transform: none; }
.qs-levers .v-select { margin-bottom: 12px !important; }
.qs-toolbar .v-btn { letter-spacing: 0; }
@media (max-width: 960px) {
  .qs-main { grid-template-columns: minmax(0, 1fr); grid-template-areas: "views" "side" "whatif"; }
  .qs-side { position: static; max-height: none; overflow: visible; }
  .qs-grid { grid-template-columns: minmax(0, 1fr); }
}
@media print {
  .qs-toolbar, .qs-side, .qs-exports, .qs-lang { display: none !important; }
  .qs-main { display: block; }
}
"""
