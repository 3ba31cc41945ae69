"""The words of the widget, the iframe form and the canonical page, per language.

Placeholders: ``{n}`` a number, ``{name}`` an item's name, ``{title}`` the title.
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "region": "Comparison: {title}",
        "panel_ship": "Panel ship",
        "community": "Community",
        "entry": "Entry",
        "scorecard": "Reviewer scorecard",
        "ship": "Ship",
        "skip": "Skip",
        "split": "Panel split",
        "agrees": "Panel agrees",
        "dissent": "Against the panel majority",
        "visit": "Visit {name}",
        "sponsored": "Sponsored",
        "votes_one": "{n} vote",
        "votes_other": "{n} votes",
        "no_votes": "No votes yet",
        "subscribe": "Subscribe",
        "learn_more": "Learn more",
        "full": "Full comparison",
        "quotes": "Read the verdicts",
        "unavailable": "This comparison could not be loaded.",
    },
    "de": {
        "region": "Vergleich: {title}",
        "panel_ship": "Panel empfiehlt",
        "community": "Community",
        "entry": "Einstieg",
        "scorecard": "Urteile der Jury",
        "ship": "Nehmen",
        "skip": "Lassen",
        "split": "Jury uneins",
        "agrees": "Jury einig",
        "dissent": "Gegen die Mehrheit der Jury",
        "visit": "{name} besuchen",
        "sponsored": "Gesponsert",
        "votes_one": "{n} Stimme",
        "votes_other": "{n} Stimmen",
        "no_votes": "Noch keine Stimmen",
        "subscribe": "Abonnieren",
        "learn_more": "Mehr erfahren",
        "full": "Ganzer Vergleich",
        "quotes": "Urteile lesen",
        "unavailable": "Dieser Vergleich konnte nicht geladen werden.",
    },
    "fr": {
        "region": "Comparatif : {title}",
        "panel_ship": "Avis du jury",
        "community": "Communauté",
        "entry": "Prix d’entrée",
        "scorecard": "Verdicts du jury",
        "ship": "Adopter",
        "skip": "Passer",
        "split": "Jury partagé",
        "agrees": "Jury unanime",
        "dissent": "Contre la majorité du jury",
        "visit": "Voir {name}",
        "sponsored": "Sponsorisé",
        "votes_one": "{n} vote",
        "votes_other": "{n} votes",
        "no_votes": "Aucun vote pour l’instant",
        "subscribe": "S’abonner",
        "learn_more": "En savoir plus",
        "full": "Comparatif complet",
        "quotes": "Lire les verdicts",
        "unavailable": "Ce comparatif n’a pas pu être chargé.",
    },
    "es": {
        "region": "Comparativa: {title}",
        "panel_ship": "Aprueba el panel",
        "community": "Comunidad",
        "entry": "Desde",
        "scorecard": "Veredictos del panel",
        "ship": "Adoptar",
        "skip": "Descartar",
        "split": "Panel dividido",
        "agrees": "Panel unánime",
        "dissent": "En contra de la mayoría del panel",
        "visit": "Visitar {name}",
        "sponsored": "Patrocinado",
        "votes_one": "{n} voto",
        "votes_other": "{n} votos",
        "no_votes": "Aún no hay votos",
        "subscribe": "Suscribirse",
        "learn_more": "Más información",
        "full": "Comparativa completa",
        "quotes": "Leer los veredictos",
        "unavailable": "No se pudo cargar esta comparativa.",
    },
}


def pick_locale(requested: str | None, fallback: str) -> str:
    """Return the requested language if known (``de-AT`` counts as ``de``), else ``fallback``."""
    if requested:
        language = requested.strip().lower().replace("_", "-").split("-")[0]
        if language in LABELS:
            return language
    return fallback
