"""Word lists the simulated population is sampled from, apart from names (see `namebook`).

Street names start from Faker's fi_FI stems (Helsinki street names). Everything Faker lacks (postal
codes that belong to a city, street abbreviations, email habits, stores and products) is a small
hand-made table here, so the generator itself holds no literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from faker.providers.address.fi_FI import Provider as FinnishAddresses

# Municipality, relative population (thousands) and the span of its postal codes (step 10).
CITIES: tuple[tuple[str, int, tuple[tuple[int, int], ...]], ...] = (
    ("Helsinki", 660, ((100, 990),)),
    ("Espoo", 300, ((2100, 2380), (2600, 2980))),
    ("Tampere", 250, ((33100, 33460), (33500, 33960))),
    ("Vantaa", 240, ((1200, 1770),)),
    ("Oulu", 210, ((90100, 90980),)),
    ("Turku", 200, ((20100, 20960),)),
    ("Jyväskylä", 145, ((40100, 40950),)),
    ("Kuopio", 125, ((70100, 70940),)),
    ("Lahti", 120, ((15100, 15960),)),
    ("Pori", 84, ((28100, 28900),)),
    ("Kouvola", 80, ((45100, 45910),)),
    ("Joensuu", 78, ((80100, 80850),)),
    ("Lappeenranta", 73, ((53100, 53950),)),
    ("Hämeenlinna", 68, ((13100, 13900),)),
    ("Vaasa", 68, ((65100, 65610),)),
    ("Seinäjoki", 65, ((60100, 60800),)),
    ("Rovaniemi", 65, ((96100, 96960),)),
    ("Mikkeli", 52, ((50100, 50970),)),
    ("Kotka", 51, ((48100, 48930),)),
    ("Salo", 51, ((24100, 24920),)),
    ("Porvoo", 51, ((6100, 6880),)),
    ("Kokkola", 48, ((67100, 67800),)),
    ("Hyvinkää", 47, ((5800, 5880),)),
    ("Lohja", 46, ((8100, 8700),)),
    ("Järvenpää", 45, ((4400, 4480),)),
    ("Kirkkonummi", 41, ((2400, 2490),)),
    ("Rauma", 39, ((26100, 26820),)),
    ("Tuusula", 39, ((4300, 4390),)),
    ("Kerava", 37, ((4200, 4260),)),
    ("Kajaani", 36, ((87100, 87950),)),
    ("Nurmijärvi", 44, ((1800, 1900),)),
    ("Savonlinna", 32, ((57100, 57810),)),
    ("Kangasala", 33, ((36200, 36280),)),
    ("Nokia", 35, ((37100, 37150),)),
    ("Ylöjärvi", 33, ((33470, 33480),)),
    ("Raisio", 25, ((21200, 21290),)),
    ("Riihimäki", 29, ((11100, 11910),)),
    ("Imatra", 25, ((55100, 55920),)),
    ("Kemi", 20, ((94100, 94900),)),
    ("Iisalmi", 21, ((74100, 74170),)),
    ("Forssa", 17, ((30100, 30420),)),
    ("Raahe", 24, ((92100, 92180),)),
    ("Tornio", 21, ((95400, 95450),)),
    ("Sipoo", 22, ((4130, 4170),)),
    ("Valkeakoski", 21, ((37600, 37630),)),
    ("Varkaus", 20, ((78200, 78870),)),
    ("Naantali", 19, ((21100, 21160),)),
)

# Official Swedish names: bilingual customers sometimes type these into a form.
SWEDISH_CITY_NAMES: dict[str, str] = {
    "Helsinki": "Helsingfors",
    "Espoo": "Esbo",
    "Vantaa": "Vanda",
    "Turku": "Åbo",
    "Vaasa": "Vasa",
    "Porvoo": "Borgå",
    "Kokkola": "Karleby",
    "Kirkkonummi": "Kyrkslätt",
    "Sipoo": "Sibbo",
}

# Faker's stems are Helsinki street names; the extra stems are the generic ones found in every town.
STREET_STEMS: tuple[str, ...] = tuple(FinnishAddresses.street_prefixes) + (
    "Koivu",
    "Mänty",
    "Kuusi",
    "Haapa",
    "Pihlaja",
    "Vaahtera",
    "Tammi",
    "Lehmus",
    "Kataja",
    "Kallio",
    "Mäki",
    "Niitty",
    "Pelto",
    "Harju",
    "Kirkko",
    "Koulu",
    "Asema",
    "Tehtaan",
    "Myllyn",
    "Rauhan",
    "Sepän",
    "Kauppa",
    "Rautatien",
    "Hämeen",
    "Satakunnan",
    "Pohjolan",
    "Aleksanterin",
    "Kalevan",
    "Sammon",
    "Väinämöisen",
    "Ilmarisen",
    "Tapion",
    "Linnan",
    "Joutsenen",
    "Kurjen",
    "Haukan",
    "Metsä",
    "Järven",
    "Lammen",
    "Rannan",
    "Saaren",
    "Niemen",
    "Lahden",
    "Torpan",
    "Pappilan",
    "Kartanon",
    "Ojan",
    "Sillan",
    "Puiston",
)

# Street-type suffix and the abbreviation that clerks and old systems use for it.
STREET_SUFFIXES: dict[str, str] = {
    "katu": "k.",
    "tie": "t.",
    "kuja": "kj.",
    "polku": "p.",
    "rinne": "r.",
    "kaari": "kaari",
    "väylä": "vl.",
    "raitti": "r.",
    "bulevardi": "bul.",
}
STREET_SUFFIX_WEIGHTS: tuple[float, ...] = (0.26, 0.34, 0.14, 0.09, 0.05, 0.05, 0.03, 0.03, 0.01)

EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "suomi24.fi",
    "kolumbus.fi",
    "luukku.com",
    "elisanet.fi",
    "saunalahti.fi",
    "yahoo.com",
    "icloud.com",
    "live.fi",
    "hotmail.fi",
    "welho.com",
    "pp.inet.fi",
    "netti.fi",
    "surffi.net",
)
EMAIL_DOMAIN_WEIGHTS: tuple[float, ...] = (
    0.38,
    0.10,
    0.07,
    0.07,
    0.03,
    0.03,
    0.05,
    0.05,
    0.03,
    0.05,
    0.03,
    0.03,
    0.02,
    0.03,
    0.02,
    0.01,
)
# Domains mistyped at a checkout: the buyer meant the first, typed the second.
EMAIL_DOMAIN_TYPOS: dict[str, str] = {
    "gmail.com": "gmial.com",
    "hotmail.com": "hotmail.fi",
    "outlook.com": "outlok.com",
    "suomi24.fi": "suomi24.com",
    "icloud.com": "icloud.fi",
    "yahoo.com": "yaho.com",
}
# Words people put in email addresses instead of their name.
EMAIL_WORDS: tuple[str, ...] = (
    "kissa",
    "koira",
    "aurinko",
    "tahti",
    "kukka",
    "sisu",
    "metsa",
    "karhu",
    "susi",
    "kettu",
    "poro",
    "lumi",
    "sade",
    "tuuli",
    "mansikka",
    "mustikka",
    "ihana",
    "pikku",
    "hymy",
    "kulta",
    "pupu",
    "nalle",
    "musa",
    "mokki",
    "sauna",
    "kalastaja",
    "tonttu",
    "peikko",
)

MOBILE_PREFIXES: tuple[str, ...] = ("040", "041", "044", "045", "046", "050")
MOBILE_PREFIX_WEIGHTS: tuple[float, ...] = (0.30, 0.05, 0.15, 0.08, 0.07, 0.35)

LOYALTY_STORES: tuple[str, ...] = (
    "Helsinki Kamppi",
    "Helsinki Itäkeskus",
    "Helsinki Tripla",
    "Espoo Iso Omena",
    "Espoo Sello",
    "Vantaa Jumbo",
    "Vantaa Myyrmanni",
    "Tampere Ratina",
    "Tampere Lielahti",
    "Turku Skanssi",
    "Turku Hansa",
    "Oulu Valkea",
    "Oulu Ideapark",
    "Jyväskylä Seppä",
    "Kuopio Matkus",
    "Lahti Trio",
    "Pori Puuvilla",
    "Joensuu Iso Myy",
    "Lappeenranta Iso Kristiina",
    "Hämeenlinna Goodman",
    "Vaasa Rewell",
    "Seinäjoki Ideapark",
    "Rovaniemi Revontuli",
    "Kouvola Veturi",
    "Porvoo Tarmola",
    "Verkkokauppa",
)

# (name, unit price in euros) of what the webshop sells.
PRODUCTS: tuple[tuple[str, float], ...] = (
    ("Villasukat", 14.90),
    ("Merinovillapipo", 29.90),
    ("Kuoritakki", 189.00),
    ("Untuvatakki", 249.00),
    ("Kumisaappaat", 59.90),
    ("Talvikengät", 129.00),
    ("Juoksukengät", 119.00),
    ("Kävelysauvat", 39.90),
    ("Retkeilyreppu 30 l", 89.90),
    ("Makuupussi", 149.00),
    ("Termospullo", 24.90),
    ("Kahvinkeitin", 49.90),
    ("Vedenkeitin", 34.90),
    ("Leivänpaahdin", 29.90),
    ("Sauvasekoitin", 44.90),
    ("Paistinpannu 28 cm", 54.90),
    ("Kattilasarja", 119.00),
    ("Veitsisarja", 79.90),
    ("Leikkuulauta", 19.90),
    ("Kahvikupit 4 kpl", 36.00),
    ("Lautaset 6 kpl", 42.00),
    ("Pyyhe", 12.90),
    ("Kylpypyyhe", 24.90),
    ("Pussilakanasetti", 49.90),
    ("Tyyny", 29.90),
    ("Peitto", 69.90),
    ("Villahuopa", 89.00),
    ("Kynttilät 10 kpl", 9.90),
    ("Lyhty", 34.90),
    ("Ruukku", 19.90),
    ("Puutarhasakset", 27.90),
    ("Kastelukannu", 14.90),
    ("Grillipihdit", 12.90),
    ("Hiiligrilli", 159.00),
    ("Aurinkotuoli", 59.90),
    ("Riippumatto", 44.90),
    ("Lasten sadeasu", 39.90),
    ("Lasten pipo", 16.90),
    ("Lapaset", 19.90),
    ("Kaulahuivi", 24.90),
    ("Collegepaita", 39.90),
    ("T-paita", 14.90),
    ("Farkut", 69.90),
    ("Sukkahousut", 9.90),
    ("Yöpaita", 29.90),
    ("Saunatyyny", 19.90),
    ("Saunakauha", 24.90),
    ("Kiuaskivet 20 kg", 29.90),
    ("Otsalamppu", 34.90),
    ("Heijastin", 2.90),
    ("Lahjakortti 50 €", 50.00),
    ("Lahjakortti 100 €", 100.00),
    ("Kirja: Kalevala", 24.90),
    ("Palapeli 1000 palaa", 19.90),
    ("Lautapeli", 39.90),
    ("Pyöränlukko", 29.90),
    ("Pyöräilykypärä", 59.90),
    ("Sadevarjo", 19.90),
)

CAMPAIGN_SUBJECTS: tuple[str, ...] = (
    "Viikon parhaat tarjoukset",
    "Uutuudet saapuivat",
    "Vain jäsenille: -20 %",
    "Kevään trendit",
    "Kesän grillikauden avaus",
    "Syksyn uutuudet",
    "Joulun lahjaideat",
    "Black Friday alkaa nyt",
    "Alennusmyynti jatkuu",
    "Kiitos, että olet asiakkaamme",
    "Muistithan ostoskorisi?",
    "Äitienpäivän lahjat",
    "Isänpäivän lahjat",
    "Koulun alku",
    "Mökkikauden tarpeet",
    "Talven vaatteet -30 %",
    "Uusi myymälä avattu",
    "Asiakasilta",
)


@dataclass(frozen=True)
class City:
    """A municipality and the postal codes that belong to it."""

    name: str
    weight: float
    postcodes: tuple[str, ...]


@cache
def cities() -> tuple[City, ...]:
    """The city table with every postal code spelled as five digits."""
    out = []
    for name, weight, spans in CITIES:
        codes = tuple(f"{code:05d}" for low, high in spans for code in range(low, high + 1, 10))
        out.append(City(name, float(weight), codes))
    return tuple(out)
