"""The app's texts in German and English, in one place, and numbers formatted per language.

Every text the app shows comes from :data:`TEXTS` (message id -> English, German), from the
outcome registry (``Outcome.label`` / ``label_de``, :mod:`quartiersim.sim.outcomes`) or from
the lever and model names below; :class:`UI` binds them to one language. German uses the
domain's German terms (Pflichtleistungsfälle, freie Träger, Koproduktion,
Quartiersmanagement, Verfügungsfonds, Verstetigung ...). Numbers, money and dates are
formatted with Babel (CLDR): ``450.000 €`` and ``22,8 %`` in German, ``€450,000`` and
``22.8%`` in English.

A name the catalogue does not know (a cooperation model, financing model or lever added
later) shows its English fallback: the registry's or schema's wording, so nothing breaks;
``tests/test_app_parts.py`` lists the shipped levers that still need one.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, get_decimal_symbol, get_group_symbol

from quartiersim.sim.registry import Kind, Outcome

#: Languages of the UI, the first is the default.
LANGUAGES: tuple[str, ...] = ("de", "en")
DEFAULT_LANGUAGE = "de"
#: Babel locale per language.
LOCALES = {"de": "de_DE", "en": "en_GB"}

#: message id -> (English, German). Placeholders ``{name}`` are the same in both.
TEXTS: dict[str, tuple[str, str]] = {
    # page, scenario, controls
    "app.subtitle": ("Social provision in the quarter: cooperation and financing models",
                     "Soziale Versorgung im Quartier: Kooperations- und Finanzierungsmodelle"),
    "language": ("Language", "Sprache"),
    "scenario": ("Scenario", "Szenario"),
    "scenario.file": ("Scenario file", "Szenariodatei"),
    "scenario.missing": ("{path}: no such scenario file; scenario files: {listing}. Pick one above.",
                         "{path}: Szenariodatei nicht gefunden; vorhanden: {listing}. "
                         "Bitte oben eine wählen."),
    "scenario.none": ("none", "keine"),
    "btn.reset": ("Reset", "Neu starten"),
    "btn.play": ("Play", "Abspielen"),
    "btn.pause": ("Pause", "Anhalten"),
    "btn.step": ("Step", "Schritt"),
    "month.status": ("Month {month} of {total} · {date}", "Monat {month} von {total} · {date}"),
    "month.start": ("Start · {date} (after the spin-up under the status quo)",
                    "Start · {date} (nach der Einschwingphase im Status quo)"),
    "month.short": ("Month {month} · {date}", "Monat {month} · {date}"),
    "month.end": ("Horizon reached", "Ende des Zeitraums erreicht"),
    "building": ("Building the model: {name} ({residents} residents) …",
                 "Das Modell wird aufgebaut: {name} ({residents} Einwohner:innen) …"),
    "on_screen": ("On screen", "Angezeigt"),
    "on_screen.text": ("{scenario}: {cooperation}, {financing}; seed {seed}; {years} ({span})",
                       "{scenario}: {cooperation}, {financing}; Zufallszahl {seed}; {years} ({span})"),
    "changed_levers": ("Changed levers", "Geänderte Stellschrauben"),
    "no_changed_levers": ("none (the scenario as written)", "keine (das Szenario wie vorgegeben)"),
    "pending": ("Changes not applied yet: press “Reset” to restart the model with them.",
                "Änderungen noch nicht übernommen: „Neu starten“ startet das Modell mit ihnen."),
    "pending.list": ("Not applied", "Nicht übernommen"),
    "invalid_lever": ("Invalid lever value: {message} The page shows the scenario's baseline "
                      "({cooperation} / {financing}) instead; change the lever and press Reset.",
                      "Ungültiger Wert: {message} Angezeigt wird der Ausgangsfall des Szenarios "
                      "({cooperation} / {financing}); Wert ändern und „Neu starten“."),
    # levers
    "levers": ("Levers", "Stellschrauben"),
    "cooperation": ("Cooperation model", "Kooperationsmodell"),
    "financing": ("Financing model", "Finanzierungsmodell"),
    "group.budget": ("Budget", "Budget"),
    "group.staff": ("Staff", "Personal"),
    "group.volunteering": ("Volunteering", "Ehrenamt"),
    "group.financing": ("Financing", "Finanzierung"),
    "group.quarter": ("Quarter", "Quartier"),
    "group.run": ("Run", "Simulationslauf"),
    "seed": ("Random seed", "Zufallszahl (Seed)"),
    "years": ("Horizon", "Zeitraum"),
    "unit.years": ("years", "Jahre"),
    "unit.year": ("year", "Jahr"),
    "range": ("range {low} – {high}", "Bereich {low} – {high}"),
    "changed_from": ("scenario: {value}", "Szenario: {value}"),
    "out_of_range": ("{value}: must be between {low} and {high}",
                     "{value}: muss zwischen {low} und {high} liegen"),
    "not_a_number": ("{value}: not a number", "{value}: keine Zahl"),
    "no_levers": ("This model has no levers of its own.", "Dieses Modell hat keine eigenen Stellschrauben."),
    # map
    "map": ("Map of the quarter", "Karte des Quartiers"),
    "map.cells": ("cells of {size} m", "Zellen von {size} m"),
    "map.quarters": ("{n} quarters", "{n} Quartiere"),
    "map.view.cells": ("Cells", "Zellen"),
    "map.view.quarters": ("Quarters", "Quartiere"),
    "map.mode.unmet": ("Unmet need", "Ungedeckter Bedarf"),
    "map.mode.coverage": ("Coverage", "Bedarfsdeckung"),
    "map.mode.residents": ("Residents", "Einwohner:innen"),
    "map.mode.volunteers": ("Volunteers", "Ehrenamtliche"),
    "map.legend.unmet": ("Unmet need this month (%)", "Ungedeckter Bedarf im Monat (%)"),
    "map.legend.coverage": ("Coverage this month (%)", "Bedarfsdeckung im Monat (%)"),
    "map.legend.residents": ("Residents", "Einwohner:innen"),
    "map.legend.volunteers": ("Active volunteers living here", "Aktive Ehrenamtliche, hier wohnend"),
    "map.legend.points": ("Service points", "Anlaufstellen"),
    "map.legend.land": ("Barriers", "Barrieren"),
    "map.east": ("East (m, {crs})", "Ost (m, {crs})"),
    "map.north": ("North (m, {crs})", "Nord (m, {crs})"),
    "map.no_need": ("no need this month", "kein Bedarf im Monat"),
    "land.barrier": ("barrier (road, rail, river)", "Barriere (Straße, Bahn, Fluss)"),
    "land.crossing": ("crossing", "Querung"),
    "tip.cell": ("Cell", "Zelle"),
    "tip.quarter": ("Quarter", "Quartier"),
    "tip.need": ("Need this month (h)", "Bedarf im Monat (Std.)"),
    "tip.served": ("Served this month (h)", "Gedeckt im Monat (Std.)"),
    "tip.name": ("Name", "Name"),
    "tip.kind": ("Kind", "Art"),
    "tip.letter": ("Letter", "Kürzel"),
    "tip.month": ("Month", "Monat"),
    "tip.value": ("Value", "Wert"),
    "tip.series": ("Series", "Reihe"),
    "point.municipal_office": ("municipal office", "Amt der Kommune"),
    "point.carrier_premises": ("carrier's premises", "Räume eines freien Trägers"),
    "point.centre_site": ("integration centre", "Integrationszentrum"),
    "point.meeting_point_site": ("meeting point", "Quartierstreff"),
    # charts
    "chart.month": ("Month", "Monat"),
    "chart.empty": ("No month simulated yet: press “Step” or “Play”.",
                    "Noch kein Monat simuliert: „Schritt“ oder „Abspielen“ drücken."),
    "chart.coverage": ("Demand coverage", "Bedarfsdeckung"),
    "chart.coverage.y": ("Coverage (% of need-hours)", "Bedarfsdeckung (% der Bedarfsstunden)"),
    "chart.cases": ("Mandatory cases (Pflichtleistungen)", "Pflichtleistungsfälle"),
    "chart.cases.y": ("Cases", "Fälle"),
    "chart.budget": ("Municipal voluntary budget for the quarter",
                     "Kommunales Budget für freiwillige Leistungen im Quartier"),
    "chart.budget.y": ("€ per year", "€ je Jahr"),
    "series.new_mandatory_cases": ("Mandatory cases started in the month",
                                   "Im Monat begonnene Pflichtleistungsfälle"),
    "series.short.active_mandatory_cases": ("running", "laufend"),
    "series.short.new_mandatory_cases": ("started", "begonnen"),
    "series.baseline": ("Baseline (the scenario as written)", "Ausgangsfall (Szenario wie vorgegeben)"),
    "series.variant": ("Variant (the levers on screen)", "Variante (die angezeigten Stellschrauben)"),
    # what-if
    "whatif": ("What-if: the levers on screen against the scenario's baseline",
               "Was-wäre-wenn: die angezeigten Stellschrauben gegen den Ausgangsfall"),
    "whatif.intro": ("Baseline: {scenario} as written ({cooperation} / {financing}). Variant: {variant}. "
                     "Each seed runs baseline and variant with the same random numbers (paired).",
                     "Ausgangsfall: {scenario} wie vorgegeben ({cooperation} / {financing}). Variante: "
                     "{variant}. Jede Zufallszahl rechnet Ausgangsfall und Variante mit denselben "
                     "Zufallszahlen (gepaart)."),
    "whatif.same": ("nothing changed yet: change a lever or the model and press Reset",
                    "noch nichts geändert: eine Stellschraube oder das Modell ändern und „Neu starten“"),
    "whatif.seeds": ("Seeds (replications)", "Wiederholungen (Zufallszahlen)"),
    "whatif.years": ("Years", "Jahre"),
    "whatif.run": ("Run what-if", "Was-wäre-wenn rechnen"),
    "whatif.cancel": ("Cancel", "Abbrechen"),
    "whatif.need_variant": ("Nothing to compare: the model on screen is the baseline.",
                            "Nichts zu vergleichen: das angezeigte Modell ist der Ausgangsfall."),
    "whatif.need_apply": ("Apply the changed levers first (Reset).",
                          "Erst die geänderten Stellschrauben übernehmen („Neu starten“)."),
    "whatif.fallback": ("The model on screen fell back to the baseline: fix the lever first.",
                        "Das angezeigte Modell ist auf den Ausgangsfall zurückgefallen: "
                        "erst den Wert korrigieren."),
    "whatif.progress": ("{done} of {total} runs finished", "{done} von {total} Läufen fertig"),
    "whatif.finished": ("What-if finished: {runs} runs.", "Was-wäre-wenn fertig: {runs} Läufe."),
    "whatif.cancelled": ("What-if cancelled: {detail}.", "Was-wäre-wenn abgebrochen: {detail}."),
    "whatif.failed": ("What-if failed: {message}", "Was-wäre-wenn fehlgeschlagen: {message}"),
    "whatif.result": ("Result: {scenario}; variant: {variant}; {seeds} seeds × {years} ({span}). "
                      "Change = variant − baseline, mean over seeds [95 % interval].",
                      "Ergebnis: {scenario}; Variante: {variant}; {seeds} Wiederholungen × {years} "
                      "({span}). Änderung = Variante − Ausgangsfall, Mittel über die Wiederholungen "
                      "[95-%-Intervall]."),
    "whatif.all": ("Show every outcome", "Alle Ergebnisgrößen zeigen"),
    "whatif.left_out": ("Not shown: {what} (equal to a row above or zero in both).",
                        "Nicht gezeigt: {what} (gleich einer Zeile darüber oder in beiden null)."),
    "whatif.over_time": ("Baseline and variant over time (mean over seeds)",
                         "Ausgangsfall und Variante im Zeitverlauf (Mittel über die Wiederholungen)"),
    "whatif.changes": ("Changes with their 95 % intervals", "Änderungen mit 95-%-Intervallen"),
    # robustness check (what-if over drawn parameter sets)
    "robust.title": ("Is the variant better in every plausible world? (uncertain parameters)",
                     "Ist die Variante in jeder plausiblen Welt besser? (unsichere Parameter)"),
    "robust.intro.posterior": (
        "Runs baseline and variant in parameter sets drawn from the scenario's calibrated "
        "posterior and its declared ranges (one seed per set, the same for both).",
        "Rechnet Ausgangsfall und Variante in Parametersätzen, gezogen aus der kalibrierten "
        "A-posteriori-Verteilung des Szenarios und seinen angegebenen Bereichen (eine "
        "Zufallszahl je Satz, dieselbe für beide)."),
    "robust.intro.ranges": (
        "Runs baseline and variant in parameter sets drawn from the scenario's declared ranges "
        "of its uncertain parameters (one seed per set, the same for both).",
        "Rechnet Ausgangsfall und Variante in Parametersätzen, gezogen aus den angegebenen "
        "Bereichen der unsicheren Parameter des Szenarios (eine Zufallszahl je Satz, dieselbe "
        "für beide)."),
    "robust.none": ("This scenario declares no uncertain parameters ([uncertainty] in its file).",
                    "Dieses Szenario gibt keine unsicheren Parameter an ([uncertainty] in der Datei)."),
    "robust.draws": ("Parameter sets (draws)", "Parametersätze (Ziehungen)"),
    "robust.run": ("Check robustness", "Robustheit prüfen"),
    "robust.finished": ("Robustness check finished: {runs} runs.",
                        "Robustheitsprüfung fertig: {runs} Läufe."),
    "robust.result": ("{draws} parameter sets from the {source}. P(better): share of the sets in "
                      "which the variant is better; regret: how far the variant falls behind "
                      "the baseline where it is worse (mean / 90th percentile over the sets).",
                      "{draws} Parametersätze aus {source}. P(besser): Anteil der Sätze, in denen "
                      "die Variante besser ist; Bedauern (Regret): wie weit die Variante hinter "
                      "dem Ausgangsfall zurückbleibt, wo sie schlechter ist (Mittel / "
                      "90. Perzentil über die Sätze)."),
    "robust.source.posterior": ("calibrated posterior", "der kalibrierten A-posteriori-Verteilung"),
    "robust.source.ranges": ("declared ranges", "den angegebenen Bereichen"),
    "robust.p_better": ("P(better)", "P(besser)"),
    "robust.range": ("Change, 5–95 % of sets", "Änderung, 5–95 % der Sätze"),
    "robust.regret": ("Regret of the variant", "Bedauern der Variante"),
    "col.outcome": ("Outcome", "Ergebnisgröße"),
    "col.baseline": ("Baseline", "Ausgangsfall"),
    "col.variant": ("Variant", "Variante"),
    "col.change": ("Change", "Änderung"),
    "col.interval": ("95 % interval", "95-%-Intervall"),
    "col.low": ("95 % low", "95-%-Untergrenze"),
    "col.high": ("95 % high", "95-%-Obergrenze"),
    "col.assessment": ("Assessment", "Bewertung"),
    "col.unit": ("Unit", "Einheit"),
    "verdict.better": ("better", "besser"),
    "verdict.worse": ("worse", "schlechter"),
    "verdict.unclear": ("no clear change", "keine klare Änderung"),
    "verdict.avoided": ("{n} avoided", "{n} vermieden"),
    "verdict.more": ("{n} more", "{n} mehr"),
    "total.span": ("total {span}", "gesamt {span}"),
    "change.pp": ("pp", "Pp."),
    "kind.share.change": ("Change of coverage and shares (percentage points)",
                          "Änderung von Anteilen (Prozentpunkte)"),
    "kind.count.change": ("Change of counts", "Änderung von Anzahlen"),
    "kind.eur.change": ("Change of cost (€)", "Änderung der Kosten (€)"),
    # sessions and exports
    "session": ("Session and exports", "Sitzung und Export"),
    "session.download": ("Save session (download)", "Sitzung speichern (Download)"),
    "session.upload": ("Load a session file (.toml)", "Sitzungsdatei laden (.toml)"),
    "session.nothing": ("Nothing to save yet: run a what-if or load a session first.",
                        "Noch nichts zu speichern: erst Was-wäre-wenn rechnen oder eine Sitzung laden."),
    "session.loaded": ("Session {name} loaded: levers and results restored.",
                       "Sitzung {name} geladen: Stellschrauben und Ergebnisse wiederhergestellt."),
    "session.too_big": ("{name}: {size} bytes; a session file has at most {limit} bytes.",
                        "{name}: {size} Bytes; eine Sitzungsdatei hat höchstens {limit} Bytes."),
    "session.unknown_scenario": ("{name}: names the scenario {ref!r}, which this app does not offer; "
                                 "scenario files: {listing}",
                                 "{name}: nennt das Szenario {ref!r}, das diese Anwendung nicht anbietet; "
                                 "Szenariodateien: {listing}"),
    "export.whatif_csv": ("What-if table (CSV)", "Was-wäre-wenn-Tabelle (CSV)"),
    "export.series_csv": ("Monthly series (CSV)", "Monatsreihen (CSV)"),
    "export.excel": ("Everything (Excel)", "Alles (Excel)"),
    "export.summary": ("Printable summary (one page)", "Druckbare Zusammenfassung (eine Seite)"),
    "export.note": ("Files are downloaded by your browser; nothing is written on the server.",
                    "Dateien lädt Ihr Browser herunter; auf dem Server wird nichts gespeichert."),
    "summary.title": ("What-if summary", "Was-wäre-wenn: Zusammenfassung"),
    "summary.made": ("Made with quartiersim on {date}.", "Erstellt mit quartiersim am {date}."),
    "sheet.whatif": ("What-if", "Was-wäre-wenn"),
    "sheet.series": ("Series on screen", "Reihen angezeigt"),
    "sheet.whatif_series": ("What-if series", "Was-wäre-wenn-Reihen"),
    "sheet.levers": ("Levers", "Stellschrauben"),
    "col.key": ("Key", "Schlüssel"),
    "col.value": ("Value", "Wert"),
    "col.scenario_value": ("Scenario", "Szenario"),
}

# --------------------------------------------------------------------------- names
#: Cooperation models (``COOPERATION_MODELS`` keys): (English, German).
COOPERATION_NAMES: dict[str, tuple[str, str]] = {
    "municipal": ("Municipal provision", "Kommunale Leistungserbringung (Säulenstruktur)"),
    "contracting": ("Contracting out", "Auftragsvergabe"),
    "coproduction": ("Co-production", "Koproduktion"),
    "integration_centre": ("Integration centre (spatial bundling)",
                           "Integrationszentrum (räumliche Bündelung)"),
    "meeting_point": ("Meeting point with quarter manager", "Quartierstreff mit Quartiersmanagement"),
    "innovation_lab": ("Social innovation lab (volunteer agency)",
                       "Soziales Innovationslabor (Freiwilligenagentur)"),
}

#: Financing models (``[financing.<name>]`` and the built-in ones): (English, German).
FINANCING_NAMES: dict[str, tuple[str, str]] = {
    "budget": ("Municipal budget", "Kommunaler Haushalt"),
    "grant": ("Grant programme", "Förderprogramm"),
    "grant_continued": ("Grant, continued in the regular budget", "Förderprogramm mit Verstetigung"),
    "pooled": ("Pooled funds (all instruments)", "Mittelbündelung (alle Instrumente)"),
}

#: Levers by dotted key; ``*`` stands for a cooperation or financing model's name:
#: (English, German), plain words (the unit is shown beside the value).
LEVER_LABELS: dict[str, tuple[str, str]] = {
    "population.residents": ("Residents of the quarter", "Einwohner:innen im Quartier"),
    "volunteering.rate": ("Share of adults who volunteer", "Anteil der Erwachsenen im Ehrenamt"),
    "municipality.voluntary_budget_eur_per_year": (
        "Municipal budget for voluntary services", "Kommunales Budget für freiwillige Leistungen"),
    "cooperation.*.coordination_fte": ("Paid volunteer coordination", "Hauptamtliche Ehrenamtskoordination"),
    "cooperation.*.manager_fte": ("Quarter manager", "Quartiersmanagement"),
    "cooperation.*.agency_fte": ("Staff of the volunteer agency", "Personal der Freiwilligenagentur"),
    "financing.*.grant_programme.project_eur_per_year": (
        "Grant-funded project cost", "Förderfähige Projektkosten"),
    "financing.*.grant_programme.funding_rate": ("Grant funding rate", "Förderquote"),
    "financing.*.continuation.share": (
        "Share continued after the grant ends", "Verstetigung nach Förderende (Anteil)"),
    "financing.*.overhead_compensation.share": (
        "Overhead compensation by the state", "Verwaltungskostenpauschale des Landes"),
    "financing.*.pooling.pots_eur_per_year": (
        "Pooled budgets of other departments", "Gebündelte Mittel anderer Ressorts"),
    "financing.*.sponsoring.eur_per_year": ("Sponsoring and donations", "Sponsoring und Spenden"),
}

#: Units of levers and outcomes in the schema's and registry's words: (English, German).
UNITS: dict[str, tuple[str, str]] = {
    "EUR per year": ("€/year", "€/Jahr"),
    "EUR per month": ("€/month", "€/Monat"),
    "EUR": ("€", "€"),
    "FTE": ("full-time posts", "Vollzeitstellen"),
    "persons": ("persons", "Personen"),
    "%": ("%", "%"),
    "cases over the run": ("cases", "Fälle"),
    "cases": ("cases", "Fälle"),
    "cases per 1,000 residents and year": ("per 1,000 residents and year",
                                           "je 1.000 Einwohner:innen und Jahr"),
    "EUR over the run": ("€", "€"),
    "EUR per resident and year": ("€ per resident and year", "€ je Einwohner:in und Jahr"),
    "EUR per served need-hour": ("€ per covered hour", "€ je gedeckter Stunde"),
    "EUR in a year": ("€ in a year", "€ in einem Jahr"),
    "EUR in the year": ("€ in the year", "€ im Jahr"),
    "EUR at start-year value": ("€, present value", "€, Barwert"),
    "need-hours over the run": ("need-hours", "Bedarfsstunden"),
    "hours over the run": ("hours", "Stunden"),
    "hours per month": ("hours per month", "Stunden je Monat"),
    "share of need-hours": ("% of need-hours", "% der Bedarfsstunden"),
    "quits per volunteer-year": ("% per year", "% je Jahr"),
    "volunteers": ("volunteers", "Ehrenamtliche"),
    "carriers": ("carriers", "Träger"),
    "residents": ("residents", "Einwohner:innen"),
    "years": ("years", "Jahre"),
}


#: Units beside a number field (short: the field is narrow), where they differ from UNITS.
UNITS_SHORT: dict[str, tuple[str, str]] = {
    "FTE": ("FTE", "VZÄ"),
    "persons": ("pers.", "Pers."),
}


def lang_index(lang: str) -> int:
    """0 for English, 1 for German (the column of the catalogue tuples)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: allowed: {', '.join(LANGUAGES)}")
    return 0 if lang == "en" else 1


def pick_language(*candidates: str | None) -> str:
    """The first candidate that is a supported language (e.g. from ``?lang=`` and the
    environment), else :data:`DEFAULT_LANGUAGE`."""
    for c in candidates:
        if c and c.strip().lower()[:2] in LANGUAGES:
            return c.strip().lower()[:2]
    return DEFAULT_LANGUAGE


def _pattern_lookup(table: dict[str, tuple[str, str]], key: str) -> tuple[str, str] | None:
    if key in table:
        return table[key]
    parts = key.split(".")
    for pattern, texts in table.items():
        p = pattern.split(".")
        if len(p) == len(parts) and all(a == "*" or a == b for a, b in zip(p, parts)):
            return texts
    return None


def lever_label_texts(key: str) -> tuple[str, str] | None:
    """The catalogue's (English, German) label of a lever key, or None if it has none."""
    return _pattern_lookup(LEVER_LABELS, key)


def _plain(name: str) -> str:
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- numbers
MINUS = "−"


@cache
def _symbols(locale: str) -> tuple[dict[int, str], str]:
    """Babel's (CLDR) grouping and decimal symbols of a locale as a translation table for
    Python's ``,`` / ``.`` formatting, and the currency pattern with ``{}`` for the amount
    (``{} €`` / ``€{}``). Formatting with Babel per number costs ~30 µs; a map of a
    thousand cells needs thousands of numbers per step."""
    table = str.maketrans({",": get_group_symbol(locale), ".": get_decimal_symbol(locale)})
    sample = format_currency(7, "EUR", locale=locale, currency_digits=False, format=None)
    pattern = sample.replace("7.00", "{}").replace("7,00", "{}").replace("7", "{}")
    return table, pattern.replace("\xa0", "\u00a0")


def _signed(text: str, value: float, signed: bool) -> str:
    text = text.replace("-", MINUS, 1) if text.startswith("-") else text
    if signed and value > 0:
        return "+" + text
    if signed and value == 0:
        return "±" + text
    return text


@dataclass(frozen=True)
class UI:
    """The app's texts and number formats in one language (``"de"`` or ``"en"``)."""

    lang: str = DEFAULT_LANGUAGE

    @property
    def locale(self) -> str:
        return LOCALES[self.lang]

    @property
    def _i(self) -> int:
        return lang_index(self.lang)

    def t(self, key: str, **values: Any) -> str:
        """The catalogue text ``key`` with its ``{name}`` fields filled from ``values``.

        Raises:
            KeyError: ``key`` is not in :data:`TEXTS`.
        """
        text = TEXTS[key][self._i]
        return text.format(**values) if values else text

    # ---- names
    def cooperation(self, name: str) -> str:
        """A cooperation model's name in plain words (fallback: the name)."""
        texts = COOPERATION_NAMES.get(name)
        return texts[self._i] if texts else _plain(name)

    def financing(self, name: str) -> str:
        """A financing model's name in plain words (fallback: the name)."""
        texts = FINANCING_NAMES.get(name)
        return texts[self._i] if texts else _plain(name)

    def lever(self, key: str, fallback: str) -> str:
        """A lever's label: the catalogue's, else ``fallback`` (the schema's wording)."""
        texts = lever_label_texts(key)
        return texts[self._i] if texts else fallback

    def unit(self, unit: str) -> str:
        """A schema or registry unit in this language (fallback: as written)."""
        texts = UNITS.get(unit)
        return texts[self._i] if texts else unit

    def unit_short(self, unit: str) -> str:
        """A unit beside a number field: ``VZÄ`` for full-time posts (else :meth:`unit`)."""
        texts = UNITS_SHORT.get(unit)
        return texts[self._i] if texts else self.unit(unit)

    def outcome(self, outcome: Outcome) -> str:
        """An outcome's label from the registry (``label_de`` in German where declared),
        without a trailing unit in brackets (the table has a unit column)."""
        label = outcome.label_de if self.lang == "de" and outcome.label_de else outcome.label
        return re.sub(r"\s*\((EUR|h|share)[^)]*\)$", "", label)

    def point_kind(self, kind: str) -> str:
        key = f"point.{kind}"
        return self.t(key) if key in TEXTS else kind.replace("_", " ")

    # ---- numbers
    def number(self, value: float, digits: int = 0, signed: bool = False) -> str:
        """A plain number with grouping: ``450.000`` / ``450,000``; ``digits`` decimals."""
        if _missing(value):
            return "–"
        table, _ = _symbols(self.locale)
        text = f"{float(value) + 0.0:,.{max(0, digits)}f}".translate(table)
        return _signed(text, value, signed)

    def eur(self, value: float, signed: bool = False, digits: int = 0) -> str:
        """Money: ``450.000 €`` (German), ``€450,000`` (English)."""
        if _missing(value):
            return "–"
        _, pattern = _symbols(self.locale)
        amount = self.number(abs(float(value)), digits)
        text = pattern.format(amount)
        return _signed("-" + text if value < 0 else text, value, signed)

    def percent(self, share: float, digits: int = 1, signed: bool = False) -> str:
        """A share in [0, 1] as a percentage: ``22,8 %`` / ``22.8%``."""
        if _missing(share):
            return "–"
        text = self.number(100 * share, digits)
        text = f"{text}\u00a0%" if self.lang == "de" else f"{text}%"
        return _signed(text, share, signed)

    def points(self, change: float, digits: int = 1) -> str:
        """A change of a share in percentage points: ``+9,1 Pp.`` / ``+9.1 pp``."""
        if _missing(change):
            return "–"
        return f"{self.number(100 * change, digits, signed=True)}\u00a0{self.t('change.pp')}"

    def value(self, value: float, kind: Kind | str, signed: bool = False) -> str:
        """A value of an outcome of ``kind``: shares in %, euros as money, counts whole
        (means over seeds with one decimal), rates with one decimal. An unknown kind
        prints with up to three significant decimals."""
        if _missing(value):
            return "–"
        kind = str(kind)
        if kind == Kind.SHARE:
            return self.percent(value, signed=signed)
        if kind == Kind.EUR:
            return self.eur(value, signed=signed)
        if kind == Kind.RATE:
            return self.number(value, 1, signed)
        if kind in (Kind.COUNT, Kind.YEARS, Kind.HOURS):
            whole = float(value).is_integer() or abs(value) >= 100 or kind == Kind.HOURS
            return self.number(value, 0 if whole else 1, signed)
        digits = 0 if abs(value) >= 100 else 2 if abs(value) >= 1 else 3
        return self.number(value, digits, signed)

    def change(self, value: float, kind: Kind | str) -> str:
        """A difference variant − baseline: shares in percentage points, else signed."""
        if str(kind) == Kind.SHARE:
            return self.points(value)
        return self.value(value, kind, signed=True)

    def relative(self, change: float, baseline: float) -> str:
        """The change relative to the baseline, ``(−42,6 %)``; empty where undefined."""
        if _missing(change) or _missing(baseline) or baseline == 0:
            return ""
        return f"({self.percent(change / abs(baseline), signed=True)})"

    # ---- dates
    def month_name(self, year: int, month: int) -> str:
        """``Juni 2020`` / ``June 2020``."""
        return format_date(dt.date(int(year), int(month), 1), "MMMM yyyy", locale=self.locale)

    def years(self, n: int) -> str:
        """``1 year`` / ``10 years`` (``1 Jahr`` / ``10 Jahre``)."""
        return f"{n} {self.t('unit.year' if n == 1 else 'unit.years')}"

    def span(self, start_year: int, years: int) -> str:
        """The calendar years of a horizon: ``2020–2029`` (one year: ``2020``)."""
        end = start_year + years - 1
        return str(start_year) if end == start_year else f"{start_year}–{end}"


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True
