"""Finnish given names and the short forms people use for them in everyday systems.

A nickname and its full name count as the same first name for matching ('Jussi' is 'Juhani').
The list covers the common names of the population; a name not listed is its own canonical form.
"""

from __future__ import annotations

_FORMS: dict[str, tuple[str, ...]] = {
    "johannes": ("juho", "jussi", "hannes", "johan", "juha", "hannu"),
    "juhani": ("jussi", "juha", "juho", "jukka", "hannu"),
    "katariina": ("katja", "kati", "kaisa", "kaija", "riina", "katri"),
    "aleksanteri": ("aleksi", "santeri", "ale", "sandu"),
    "aleksandra": ("sanna", "sandra", "aleksa"),
    "elisabet": ("liisa", "elisa", "liisi", "elli", "lissu", "betta"),
    "elisabeth": ("liisa", "elisa", "liisi", "elli"),
    "matias": ("matti", "masa"),
    "mattias": ("matti", "masa"),
    "antero": ("antti", "ante"),
    "andreas": ("antti", "ante"),
    "mikael": ("mikko", "mika", "miikka"),
    "tapani": ("tapsa", "tapio"),
    "markus": ("markku", "make"),
    "petteri": ("pete", "petri", "pekka"),
    "pietari": ("pekka", "petri"),
    "henrik": ("henri", "heikki", "henkka"),
    "heikki": ("henkka", "heikku", "hessu", "heke"),
    "kristiina": ("kirsi", "tiina", "kristi", "kiti"),
    "kristian": ("kristo", "kride"),
    "margareeta": ("maarit", "marketta", "reetta", "maiju"),
    "marketta": ("maarit", "reetta", "marke"),
    "annikki": ("anni", "anna"),
    "susanna": ("sanna", "susa", "sanni"),
    "johanna": ("hanna", "jonna", "hanne"),
    "helena": ("lena", "leena", "hele", "heli", "helka"),
    "magdaleena": ("leena", "mataleena"),
    "emilia": ("emmi", "milla", "emma"),
    "sofia": ("sofie", "sohvi", "fia"),
    "eveliina": ("eve", "evi", "veera"),
    "karoliina": ("karo", "liina", "iina"),
    "josefiina": ("josa", "fiina", "iina"),
    "viktoria": ("vikke", "tori"),
    "ville": ("vilhelm", "wilhelm", "vilho"),
    "vilhelmiina": ("miina", "vilma", "helmi"),
    "tuomas": ("tuomo", "tommi", "tomi"),
    "timoteus": ("timo", "timppa"),
    "samuel": ("samu", "sami"),
    "daniel": ("dani", "taneli", "tani"),
    "jaakko": ("jaska", "jaakob", "jakob"),
    "kalle": ("kaarlo", "kaarle", "karl"),
    "kaarlo": ("kalle", "kaarle"),
    "nikolai": ("niko", "nikke"),
    "nikolas": ("niko", "nikke"),
    "sebastian": ("sebu", "seba"),
    "oskari": ("oskar", "ossi", "osku"),
    "valtteri": ("valtsu", "walter"),
    "eliel": ("eli",),
    "olavi": ("olli", "olle", "olavi"),
    "ilmari": ("ilmo", "ilkka", "immu", "ilmi"),
    "sakari": ("sakke", "sakku", "saku"),
    "kaarina": ("kaija", "kaisu", "kaarin"),
    "jari": ("jartsa", "jarkko"),
    "erkki": ("eki", "erkka"),
    "maria": ("maija", "maikki", "mari", "maarit", "maiju"),
    "irmeli": ("irma", "irmu"),
    "elina": ("elli", "ella", "eli", "ellu"),
    "anneli": ("anne", "anni", "annu"),
    "tuula": ("tuulikki", "tuuli"),
    "marjatta": ("marja", "marjo", "maija"),
    "hannele": ("hanna", "hanne"),
    "pirjo": ("pirkko", "pike"),
    "ritva": ("riitta", "ritu"),
    "sirkka": ("sirkku", "sirpa"),
    "kalevi": ("kale", "kalle"),
    "tapio": ("tapsa", "tapani"),
    "seppo": ("sepi", "sepe"),
    "pentti": ("pena", "pentsa"),
    "esa": ("esko", "esse"),
    "jorma": ("jore", "jortsu"),
    "raimo": ("raikka", "raipe"),
    "kari": ("kartsa", "kake"),
    "mikko": ("mikki", "mikke"),
    "veikko": ("veke", "veikka"),
    "lauri": ("lassi", "late", "lasse"),
    "aulikki": ("aulis", "auli"),
    "tellervo": ("telle", "terttu"),
}


def _build() -> dict[str, frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for full, shorts in _FORMS.items():
        for name in (full, *shorts):
            groups.setdefault(name, set()).update({full, *shorts})
    return {name: frozenset(group) for name, group in groups.items()}


_EQUIVALENTS = _build()


PET_FORM_LETTERS = 3  # a pet form starts like its name ('Jartsa' of 'Jari')
SURE_PET_FORM_LETTERS = 4  # ... and surely so when it shares four ('Jukkis' of 'Jukka', not 'Marja' of 'Markus')


def equivalent(a: str, b: str, shared: int = PET_FORM_LETTERS) -> bool:
    """True when ``a`` and ``b`` (folded first names) can be the same person's name.

    Beyond the table, a short name that starts like a longer one is taken as its pet form
    ('Sakke' for 'Sakari', 'Jartsa' for 'Jari'): Finnish nicknames are mostly built that way. Three
    letters in common also pair names that are not ('Marja', 'Markus'); ``shared=4`` asks for the
    surer pet forms only.
    """
    if a == b:
        return True
    group = _EQUIVALENTS.get(a)
    if group is not None and b in group:
        return True
    short, long = sorted((a, b), key=len)
    return 3 <= len(short) <= 5 and len(long) > len(short) and short[:shared] == long[:shared]
