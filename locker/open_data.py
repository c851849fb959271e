"""The open-data files: ``pickups.csv`` and its DCAT-AP.de description ``catalog.jsonld``.

``pickups.csv`` is RFC 4180 CSV (comma, UTF-8, a header line) of
:func:`locker.statistics.open_data_rows`: complete months only, counts below 5 left empty.
The catalog describes it for a municipal open-data portal in DCAT-AP.de (the German profile of
DCAT-AP used by GovData): a ``dcat:Catalog`` with one ``dcat:Dataset`` and its CSV
``dcat:Distribution``, licensed under the Datenlizenz Deutschland – Namensnennung 2.0
(``dl-by-de/2.0``), with temporal coverage, a monthly update frequency, the publisher and the
attribution text that licence asks for.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Final

from locker.core import Core
from locker.statistics import OPEN_DATA_COLUMNS, open_data_rows

LICENCE: Final = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
MONTHLY: Final = "http://publications.europa.eu/resource/authority/frequency/MONTHLY"
CSV_FORMAT: Final = "http://publications.europa.eu/resource/authority/file-type/CSV"
THEME: Final = "http://publications.europa.eu/resource/authority/data-theme/GOVE"
CONTEXT: Final = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatde": "http://dcat-ap.de/def/dcatde/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
CSV_PATH: Final = "/open-data/pickups.csv"
CATALOG_PATH: Final = "/open-data/catalog.jsonld"


def pickups_csv(core: Core) -> str:
    rows, _first, _last = open_data_rows(core)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=OPEN_DATA_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def catalog(core: Core, base_url: str) -> dict[str, Any]:
    """The DCAT-AP.de catalog as JSON-LD; ``base_url`` is where this controller is reached."""
    base = base_url.rstrip("/")
    _rows, first, last = open_data_rows(core)
    name = core.settings.locker.name
    location = core.settings.locker.location
    bank = core.settings.locker.bank_id
    now = core.clock.now().isoformat()
    temporal: dict[str, Any] = {"@type": "dct:PeriodOfTime"}
    if first and last:
        temporal["dcat:startDate"] = {"@value": first.isoformat(), "@type": "xsd:date"}
        temporal["dcat:endDate"] = {"@value": last.isoformat(), "@type": "xsd:date"}
    publisher = {"@type": "foaf:Organization", "foaf:name": f"{name}, {location}"}
    distribution = {
        "@id": f"{base}{CSV_PATH}#distribution",
        "@type": "dcat:Distribution",
        "dct:title": {"@language": "de", "@value": "Abholungen je Monat und Dokumentart (CSV)"},
        "dcat:accessURL": {"@id": f"{base}{CSV_PATH}"},
        "dcat:downloadURL": {"@id": f"{base}{CSV_PATH}"},
        "dcat:mediaType": {"@id": "http://www.iana.org/assignments/media-types/text/csv"},
        "dct:format": {"@id": CSV_FORMAT},
        "dct:license": {"@id": LICENCE},
        "dcatde:licenseAttributionByText": f"{name}, {location}",
        "dct:modified": {"@value": now, "@type": "xsd:dateTime"},
    }
    dataset = {
        "@id": f"{base}{CATALOG_PATH}#dataset",
        "@type": "dcat:Dataset",
        "dct:identifier": f"locker-{bank}-pickups",
        "dct:title": [
            {"@language": "de", "@value": f"Dokumentenausgabe per Abholfach: Abholungen ({name})"},
            {"@language": "en", "@value": f"Document pickup locker: pickups ({name})"},
        ],
        "dct:description": [
            {
                "@language": "de",
                "@value": (
                    "Monatliche Anzahl angekündigter, eingelagerter, abgeholter, abgelaufener und"
                    " zurückgenommener Ausweisdokumente je Dokumentart, Abholungen außerhalb der"
                    " Öffnungszeiten und die mittlere Liegezeit in Stunden. Ohne personenbezogene"
                    " Daten; Werte unter 5 sind unterdrückt (leeres Feld)."
                ),
            },
            {
                "@language": "en",
                "@value": (
                    "Monthly counts of identity documents announced, stored, collected, expired"
                    " and returned, by document type; pickups outside opening hours and the"
                    " median hours from storing to pickup. No personal data; counts below 5 are"
                    " suppressed (empty cell)."
                ),
            },
        ],
        "dcat:keyword": ["Bürgerbüro", "Ausweis", "Reisepass", "Abholfach", "Statistik"],
        "dcat:theme": {"@id": THEME},
        "dct:publisher": publisher,
        "dct:license": {"@id": LICENCE},
        "dct:accrualPeriodicity": {"@id": MONTHLY},
        "dct:temporal": temporal,
        "dct:modified": {"@value": now, "@type": "xsd:dateTime"},
        "dcat:distribution": [distribution],
    }
    return {
        "@context": CONTEXT,
        "@id": f"{base}{CATALOG_PATH}",
        "@type": "dcat:Catalog",
        "dct:title": {"@language": "de", "@value": f"Offene Daten: {name}"},
        "dct:description": {
            "@language": "de",
            "@value": "Anonymisierte Statistik der Dokumentenausgabe per Abholfach.",
        },
        "dct:publisher": publisher,
        "dct:license": {"@id": LICENCE},
        "dcat:dataset": [dataset],
    }
