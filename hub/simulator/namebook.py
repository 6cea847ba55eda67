"""Finnish given names and surnames with population-like frequencies, and which names look alike.

Why: a matcher tested on names drawn uniformly from a short list never meets the namesakes that a
real customer base is full of. Among a million Finns a few hundred surnames and given names are
borne by a large share of people, so "Juha Korhonen" or "Anne Virtanen" recurs dozens of times,
while most surnames are rare. The shapes here approximate, and do not copy, the name statistics
that the Finnish population register (Digital and Population Data Services Agency, DVV) publishes:
the head lists hold common Finnish names in roughly the register's rank order, and each rank gets
its share from a smooth rank-frequency curve, weight(rank) = 1 / (1 + rank / r0) ** a, fitted by
hand to a few anchors of those statistics:

- surnames: the most common (Korhonen, Virtanen) about 0.43% of people each, the tenth about
  0.34%, the hundredth about 0.11%; the top ten cover about 4% of people, the top 200 about 29%.
  The invented tail stops at about 8,000 names (the register lists far more, most of them borne by
  a handful of people), so rare surnames are a little less rare here than among real Finns: more
  namesakes, a harder benchmark, never an easier one;
- first (calling) names by sex: the most common man's name about 1.7% of men, the top ten 14%, the
  top hundred 55%; women's names are flatter: the most common 1.2%, the top ten 10%, the top
  hundred 43%; each sex has a tail of about 1,300 rarer names;
- second given names: concentrated on a few (Maria, Helena, Johanna / Juhani, Johannes, Olavi,
  Mikael...), Maria and Juhani each about 8% of the second names of their sex; a quarter of second
  names are drawn like first names.

Beyond the head lists the tails are invented: surnames composed from the nature and place words
Finnish surnames are made of (Koivu + mäki, Kivi + nen, Swedish Lind + qvist), given names from
Finnish-sounding syllables. They are names of nobody in particular. `SIMILAR_GROUPS` and
`CROSS_SEX_PAIRS` hold real groups of different names that look alike (Maria/Marja/Marjatta/Maarit,
Jari/Jarmo/Jarkko, Hanna/Hannu), which is what chains of false merges are made of; `NICKNAMES`
maps official names to the everyday forms people type.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

SURNAMES_HEAD: tuple[str, ...] = (
    "Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen", "Laine", "Heikkinen", "Koskinen",
    "Järvinen", "Lehtonen", "Lehtinen", "Saarinen", "Salminen", "Heinonen", "Niemi", "Heikkilä", "Kinnunen",
    "Salonen", "Turunen", "Salo", "Laitinen", "Tuominen", "Rantanen", "Karjalainen", "Jokinen", "Mattila",
    "Savolainen", "Lahtinen", "Ahonen", "Leinonen", "Hiltunen", "Miettinen", "Kallio", "Heiskanen", "Pitkänen",
    "Hirvonen", "Väisänen", "Aaltonen", "Mäki", "Manninen", "Hakala", "Koivisto", "Anttila", "Laaksonen",
    "Leppänen", "Hyvönen", "Räsänen", "Nurmi", "Lappalainen", "Kettunen", "Karppinen", "Tikkanen", "Mustonen",
    "Peltonen", "Lehto", "Ojala", "Toivonen", "Koponen", "Seppälä", "Moilanen", "Hietala", "Ketola",
    "Kärkkäinen", "Eskola", "Huttunen", "Jääskeläinen", "Sirviö", "Rautiainen", "Honkanen", "Pesonen", "Vainio",
    "Niskanen", "Ruotsalainen", "Kokkonen", "Nyström", "Lindroos", "Rantala", "Oksanen", "Harju", "Saari",
    "Parviainen", "Pulkkinen", "Lindqvist", "Vartiainen", "Kauppinen", "Hänninen", "Keränen", "Jussila",
    "Vesterinen", "Hyttinen", "Partanen", "Kemppainen", "Pelkonen", "Ikonen", "Tolonen", "Mikkonen", "Rissanen",
    "Kivelä", "Pietilä", "Halonen", "Koivula", "Laakso", "Vuorinen", "Kokko", "Aalto", "Virta", "Hakkarainen",
    "Lampinen", "Luoma", "Anttonen", "Backman", "Grönroos", "Heino", "Kivinen", "Kurki", "Hokkanen", "Tanskanen",
    "Ylönen", "Pöllänen", "Jokela", "Airaksinen", "Nykänen", "Jaakkola", "Koski", "Suominen", "Ranta", "Immonen",
    "Kangas", "Karvonen", "Korpela", "Kukkonen", "Lindberg", "Nurminen", "Pakarinen", "Penttinen", "Rautio",
    "Saarela", "Takala", "Tiainen", "Valtonen", "Voutilainen", "Ylitalo", "Hannula", "Hautala", "Huhtala",
    "Huovinen", "Kivimäki", "Knuuttila", "Koivunen", "Kosonen", "Kuusisto", "Lahti", "Lindström", "Markkanen",
    "Mononen", "Nousiainen", "Nyman", "Peltola", "Pihlaja", "Puustinen", "Rajala", "Ruuskanen", "Salmi",
    "Sillanpää", "Sjöberg", "Toivanen", "Tuomi", "Uusitalo", "Virolainen", "Aho", "Alanen", "Eronen", "Haapala",
    "Happonen", "Harjula", "Helminen", "Holappa", "Hyvärinen", "Jauhiainen", "Juntunen", "Kaikkonen", "Kantola",
    "Karhu", "Kauppila", "Kiviniemi", "Kolehmainen", "Koistinen", "Kontio", "Kuosmanen", "Kyllönen", "Laurila",
    "Lindholm", "Marttila", "Nevalainen", "Ollila", "Paananen", "Pasanen", "Rinne", "Sainio", "Sundström",
    "Tervo", "Vilen", "Vuori", "Wallin", "Ylinen", "Holmberg", "Forsman", "Söderholm", "Kiiskinen",
)  # fmt: skip

MALE_FIRST_HEAD: tuple[str, ...] = (
    "Juha", "Timo", "Matti", "Kari", "Mikko", "Jari", "Antti", "Jukka", "Mika", "Markku", "Pekka", "Hannu",
    "Heikki", "Seppo", "Janne", "Ari", "Sami", "Petri", "Ville", "Marko", "Tuomas", "Erkki", "Lauri", "Pertti",
    "Jani", "Esa", "Jouni", "Tommi", "Kimmo", "Harri", "Risto", "Teemu", "Jussi", "Juho", "Raimo", "Vesa",
    "Pentti", "Tapio", "Jarmo", "Olli", "Veikko", "Eero", "Tero", "Joni", "Jyrki", "Arto", "Aleksi", "Eino",
    "Toni", "Mikael", "Tapani", "Kalle", "Jarkko", "Reijo", "Martti", "Jaakko", "Onni", "Leo", "Elias", "Eetu",
    "Niko", "Joonas", "Santeri", "Oskari", "Jesse", "Juhani", "Tuomo", "Kalevi", "Veli", "Keijo", "Ilkka",
    "Jorma", "Simo", "Henri", "Henrik", "Aki", "Arttu", "Väinö", "Eemeli", "Kristian", "Johannes", "Joel",
    "Lasse", "Markus", "Samuli", "Miika", "Aatu", "Mauri", "Jouko", "Kai", "Rasmus", "Otto", "Aaro", "Veeti",
    "Valtteri", "Roope", "Jere", "Atte", "Patrik", "Julius", "Daniel", "Samu", "Sakari", "Reino", "Ilmari",
    "Olavi", "Antero", "Matias", "Emil", "Oliver", "Eelis", "Lenni", "Viljami", "Vilho", "Aarne", "Unto",
    "Toivo", "Pasi", "Tomi", "Ossi", "Urho", "Kauko", "Rauno", "Erik", "Niilo", "Aimo", "Arvo", "Esko", "Heimo",
    "Kaarlo", "Paavo", "Teuvo", "Pauli", "Hannes", "Rami", "Jarno", "Anssi", "Juuso", "Ismo", "Jonne", "Tatu",
    "Topias", "Sauli", "Anton", "Aapo", "Leevi", "Jalmari", "Akseli", "Kasper", "Oiva", "Mathias", "Miikka",
    "Petteri", "Juha-Pekka", "Jukka-Pekka", "Vilhelm", "Aleksanteri", "Pirkka", "Kyösti", "Lassi",
    "Raine", "Jaska", "Eljas", "Tuukka", "Iiro", "Kristo", "Ahti", "Sulo", "Lauri-Matti", "Kustaa", "Ensio",
    "Kalervo", "Uolevi", "Armas", "Valto", "Kari-Pekka",
)  # fmt: skip

FEMALE_FIRST_HEAD: tuple[str, ...] = (
    "Anne", "Tuula", "Päivi", "Anna", "Leena", "Ritva", "Pirjo", "Sari", "Minna", "Marja", "Tiina", "Riitta",
    "Maria", "Kaisa", "Eila", "Seija", "Merja", "Sirpa", "Hanna", "Raija", "Katja", "Johanna", "Aino", "Elina",
    "Laura", "Heidi", "Satu", "Paula", "Liisa", "Sanna", "Helena", "Kirsi", "Marjatta", "Arja", "Tarja",
    "Susanna", "Terhi", "Emilia", "Emma", "Anu", "Jaana", "Eeva", "Hannele", "Heli", "Kristiina", "Ulla",
    "Elisa", "Jenni", "Sofia", "Anja", "Irma", "Pauliina", "Sinikka", "Outi", "Mirja", "Maarit", "Mari",
    "Riikka", "Anneli", "Marika", "Annika", "Eija", "Jonna", "Helmi", "Ella", "Venla", "Kaija", "Kati", "Sara",
    "Saara", "Iida", "Julia", "Aila", "Sirkka", "Terttu", "Hilkka", "Tuija", "Tanja", "Mervi", "Milla", "Salla",
    "Noora", "Nina", "Anni", "Essi", "Henna", "Irja", "Katri", "Piia", "Reetta", "Taina", "Tuulikki", "Vuokko",
    "Elsa", "Lotta", "Maija", "Marianne", "Oona", "Pihla", "Kerttu", "Lilja", "Aada", "Siiri", "Vilma", "Enni",
    "Jenna", "Janna", "Krista", "Kirsti", "Niina", "Petra", "Raili", "Sanni", "Tiia", "Tuuli", "Veera", "Ilona",
    "Karoliina", "Katariina", "Kaarina", "Leila", "Linnea", "Marjo", "Marjaana", "Minttu", "Nelli", "Päivikki",
    "Tuire", "Virpi", "Irene", "Liina", "Erja", "Elli", "Eveliina", "Heini", "Henriikka", "Jutta", "Kaisu",
    "Mira", "Roosa", "Sini", "Suvi", "Taru", "Annukka", "Anna-Maija", "Anna-Liisa", "Marja-Leena", "Marja-Liisa",
    "Pia", "Hely", "Kyllikki", "Aune", "Elma", "Martta", "Helka", "Orvokki", "Inkeri", "Annikki", "Marketta",
    "Jasmin", "Nea", "Iina", "Emmi", "Fanni", "Hilla", "Ronja", "Aurora", "Amanda", "Ilta", "Tyyne",
    "Lempi", "Hillevi", "Marjut", "Pirkko", "Mirjami", "Arja-Leena",
)  # fmt: skip

FEMALE_MIDDLE_HEAD: tuple[str, ...] = (
    "Maria", "Helena", "Johanna", "Kaarina", "Marjatta", "Anneli", "Kristiina", "Elina", "Annikki", "Tuulikki",
    "Hannele", "Liisa", "Katariina", "Sofia", "Emilia", "Orvokki", "Inkeri", "Elisabet", "Irmeli", "Susanna",
    "Pauliina", "Karoliina", "Josefiina", "Vilhelmiina", "Amanda", "Matilda", "Aurora", "Olivia", "Aleksandra",
    "Eveliina", "Marketta", "Tellervo", "Kyllikki", "Helinä", "Hellevi", "Annika", "Ilona", "Linnea", "Aliisa",
    "Henriikka", "Cecilia", "Charlotta", "Esteri", "Margareeta", "Onerva", "Sinikka", "Talvikki", "Aino",
    "Emma", "Ellen",
)  # fmt: skip

MALE_MIDDLE_HEAD: tuple[str, ...] = (
    "Juhani", "Johannes", "Olavi", "Antero", "Tapani", "Kalevi", "Tapio", "Mikael", "Ilmari", "Matias",
    "Kristian", "Aleksanteri", "Henrik", "Oskari", "Sakari", "Petteri", "Kalervo", "Einari", "Ensio", "Valtteri",
    "Eemeli", "Emil", "Elias", "Onni", "Väinö", "Aukusti", "Eerik", "Aleksi", "Tuomas", "Ilari", "Armas",
    "Uolevi", "Veikko", "Viljami", "Juho", "Akseli", "Kasper", "Vilhelm", "Kaarlo", "Edvard", "Eliel", "Jalmari",
    "Mathias", "Anton", "Oliver", "Rafael", "Benjamin", "Samuel", "Valdemar", "Kustaa",
)  # fmt: skip

# Official names and the everyday forms people type. A system that lets people type their own name
# (webshop, email sign-up) gets these; the ERP and the loyalty card usually hold the official name.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Johannes": ("Juho", "Jussi", "Hannes"),
    "Juhani": ("Jussi", "Juha", "Jukka"),
    "Juha": ("Jussi",),
    "Katariina": ("Katja", "Kati", "Kaisa", "Katri"),
    "Aleksanteri": ("Aleksi", "Santeri", "Ale"),
    "Matti": ("Masa", "Matte"),
    "Antti": ("Anttu", "Ante"),
    "Mikael": ("Mikko", "Mika", "Miikka"),
    "Kristiina": ("Kirsi", "Tiina", "Kiti"),
    "Johanna": ("Hanna", "Jonna", "Hanne"),
    "Susanna": ("Sanna", "Susa"),
    "Pekka": ("Pete", "Pekkis"),
    "Timo": ("Timppa",),
    "Jari": ("Jartsa",),
    "Tapani": ("Tapsa", "Tapio"),
    "Tapio": ("Tapsa",),
    "Heikki": ("Hessu",),
    "Petteri": ("Pete", "Petri"),
    "Petri": ("Pete",),
    "Jaakko": ("Jaska",),
    "Kaarlo": ("Kalle",),
    "Vilhelm": ("Ville",),
    "Tuomas": ("Tommi", "Tuomo"),
    "Joonas": ("Joona",),
    "Helena": ("Leena", "Heli", "Lena"),
    "Annikki": ("Anni",),
    "Marjatta": ("Marja", "Maija"),
    "Maria": ("Maija", "Mari", "Maikki"),
    "Anneli": ("Anne", "Anni"),
    "Kaarina": ("Kaija", "Kaisu"),
    "Pauliina": ("Paula", "Pauli"),
    "Karoliina": ("Karo", "Liina"),
    "Emilia": ("Emmi", "Milla"),
    "Sofia": ("Sofi", "Fia"),
    "Henrik": ("Henkka", "Henri"),
    "Kristian": ("Krisu", "Kride"),
    "Markus": ("Make",),
    "Lauri": ("Lassi", "Lasse"),
    "Erkki": ("Eki",),
    "Ilmari": ("Ilmo", "Immu"),
    "Olavi": ("Olli",),
    "Sakari": ("Sakke",),
    "Oskari": ("Oskar", "Ossi"),
    "Minna": ("Minttu",),
    "Elina": ("Elli", "Ella"),
    "Eveliina": ("Eve", "Evi"),
    "Kalevi": ("Kale",),
    "Jukka": ("Jukkis",),
    "Anna-Maija": ("Anna", "Anu"),
    "Marja-Leena": ("Marja", "Leena"),
    "Marja-Liisa": ("Marja", "Maisa"),
    "Juha-Pekka": ("Jukka", "Juha"),
    "Jukka-Pekka": ("Jukka", "JP"),
}

# Different names that look alike: one letter apart, one derived from the other, or one prefix.
SIMILAR_GROUPS: tuple[tuple[str, ...], ...] = (
    ("Maria", "Marja", "Marjatta", "Maarit", "Mari", "Marika", "Maija", "Merja", "Marjo", "Marjaana"),
    ("Anna", "Anne", "Anni", "Annika", "Anneli", "Annikki", "Anu", "Annukka"),
    ("Johanna", "Hanna", "Jonna", "Hannele", "Henna"),
    ("Kristiina", "Kirsi", "Tiina", "Kirsti", "Krista", "Tiia"),
    ("Katariina", "Katja", "Kati", "Kaisa", "Katri", "Kaija", "Kaarina", "Kaisu"),
    ("Helena", "Leena", "Heli", "Helka", "Hely"),
    ("Elina", "Elisa", "Liisa", "Eliisa", "Elli", "Ella", "Elsa"),
    ("Riitta", "Riikka", "Reetta"),
    ("Sari", "Sanna", "Sara", "Saara", "Sanni"),
    ("Tuula", "Tuuli", "Tuulikki", "Tuija"),
    ("Minna", "Mira", "Milla", "Minttu", "Mirja"),
    ("Jaana", "Janna", "Jenni", "Jenna"),
    ("Paula", "Pauliina", "Päivi", "Päivikki"),
    ("Eeva", "Eveliina", "Essi"),
    ("Sirpa", "Sirkka", "Satu"),
    ("Jari", "Jarmo", "Jarkko", "Jani", "Janne", "Jarno"),
    ("Heikki", "Henrik", "Henri", "Heimo"),
    ("Mikko", "Mika", "Mikael", "Miikka"),
    ("Jukka", "Jussi", "Juha", "Juho", "Juhani", "Johannes", "Juuso"),
    ("Matti", "Matias", "Mathias", "Martti"),
    ("Pekka", "Petri", "Petteri", "Pertti", "Pentti"),
    ("Timo", "Tommi", "Tomi", "Toni", "Tuomas", "Tuomo"),
    ("Antti", "Anton", "Antero", "Anssi"),
    ("Kari", "Kalle", "Kaarlo", "Kai"),
    ("Markku", "Marko", "Markus"),
    ("Ari", "Aki", "Arto", "Arttu", "Atte"),
    ("Harri", "Hannu", "Hannes"),
    ("Jouni", "Jouko", "Jorma"),
    ("Esa", "Esko", "Eero", "Erkki", "Eetu"),
    ("Olli", "Olavi", "Oskari", "Ossi"),
    ("Ville", "Vilho", "Vilhelm", "Viljami"),
    ("Lauri", "Lassi", "Lasse"),
    ("Tapio", "Tapani"),
    ("Teemu", "Teuvo", "Tero"),
    ("Sami", "Samuli", "Samu", "Santeri"),
    ("Veli", "Veikko", "Vesa"),
)
# A man's and a woman's name that differ by a letter or two: spouses and siblings who bear them.
CROSS_SEX_PAIRS: tuple[tuple[str, str], ...] = (
    ("Hannu", "Hanna"),
    ("Petri", "Petra"),
    ("Lauri", "Laura"),
    ("Pauli", "Paula"),
    ("Kari", "Kati"),
    ("Aimo", "Aino"),
    ("Eero", "Eeva"),
    ("Jani", "Jaana"),
    ("Janne", "Janna"),
    ("Sami", "Sanna"),
    ("Joni", "Jonna"),
    ("Henri", "Henna"),
    ("Timo", "Tiina"),
    ("Ari", "Arja"),
    ("Tero", "Terhi"),
    ("Marko", "Marika"),
    ("Esa", "Essi"),
    ("Jari", "Jaana"),
)

# Rank-frequency curves (r0, a) of the docstring, and how many invented names each tail holds.
_SURNAME_CURVE = (25.0, 0.86)
_MALE_FIRST_CURVE = (25.0, 1.32)
_FEMALE_FIRST_CURVE = (20.0, 1.04)
_MIDDLE_CURVE = (4.0, 1.25)
_MALE_FIRST_TAIL = 1_300
_FEMALE_FIRST_TAIL = 1_300
_MIDDLE_FROM_FIRST = 0.25  # share of second given names that are a first name of the same sex

_SURNAME_STEMS: tuple[str, ...] = (
    "Aho", "Alho", "Haapa", "Halla", "Harju", "Heinä", "Hiekka", "Hirvi", "Honka", "Huhta", "Ilves", "Jalava",
    "Joki", "Kaarna", "Kallio", "Kangas", "Karhu", "Kaski", "Kataja", "Kauri", "Kettu", "Kivi", "Koivu", "Korpi",
    "Koski", "Kuusi", "Kylä", "Laakso", "Lahti", "Lampi", "Lehmus", "Lehto", "Leppä", "Lintu", "Lumi", "Luoto",
    "Metsä", "Myrsky", "Mänty", "Mäki", "Niemi", "Niitty", "Nummi", "Oja", "Orava", "Paju", "Pelto", "Pihlaja",
    "Puro", "Pyy", "Raja", "Ranta", "Rauta", "Rinne", "Ruoho", "Saari", "Sala", "Salo", "Sammal", "Savi",
    "Sora", "Suo", "Suvi", "Taimi", "Tammi", "Tervo", "Tuomi", "Tuuli", "Uusi", "Vaara", "Valko", "Vesa",
    "Vilja", "Virta", "Vuori", "Ylä", "Ala", "Iso", "Väli", "Keski", "Hovi", "Kartano", "Torppa", "Mylly",
    "Silta", "Kirkko", "Kotka", "Haukka", "Kurki", "Joutsen", "Sorsa", "Teeri", "Metso", "Susi", "Ahma",
    "Hilla", "Kukka", "Lilja", "Tähti", "Kuu", "Päivä", "Aalto", "Meri", "Hopea", "Kulta", "Teräs", "Vasara",
    "Seppä", "Kaira", "Kumpu", "Kero", "Rova", "Kuru", "Lähde", "Laine", "Selkä", "Nurmi", "Pohja", "Itä",
    "Länsi", "Etelä", "Pohjois", "Rasi", "Hako", "Havu", "Heinä", "Kanto", "Karpalo", "Katajisto", "Kiilu",
    "Kolu", "Kopra", "Kärki", "Lahna", "Lohi", "Mursu", "Naava", "Näre", "Ohra", "Pajari", "Palo", "Perä",
    "Pietari", "Pursi", "Rasti", "Riihi", "Routa", "Ruska", "Sarvi", "Sirola", "Sompa", "Talvi", "Tiira",
    "Toukola", "Tupa", "Tuisku", "Ukko", "Vainio", "Varis", "Vehka", "Viita", "Vilppu", "Vuokko", "Ylijoki",
)  # fmt: skip
_SURNAME_ENDINGS: tuple[str, ...] = (
    "mäki", "salo", "aho", "niemi", "lahti", "koski", "järvi", "vaara", "oja", "luoma", "korpi", "ranta",
    "saari", "suo", "vuori", "kangas", "pelto", "harju", "lehto", "kallio", "lampi", "laakso", "nummi",
    "rinne", "kari", "talo", "maa", "puro", "virta", "hovi", "kumpu", "kylä", "luoto", "joki", "kivi",
    "mies", "pää", "lammi", "mo", "sto", "ranta", "korva", "niitty", "tie", "sola", "honka",
)  # fmt: skip
_SWEDISH_HEADS: tuple[str, ...] = (
    "Lind", "Berg", "Holm", "Sjö", "Ny", "Ek", "Strand", "Sand", "Gran", "Nord", "Öst", "Väst", "Ahl", "Blom",
    "Eng", "Fors", "Hag", "Lund", "Sten", "Wik", "Bäck", "Kull", "Rosen", "Lil",
)  # fmt: skip
_SWEDISH_TAILS: tuple[str, ...] = (
    "berg", "ström", "qvist", "holm", "lund", "gren", "man", "blad", "dahl", "sten", "roos", "bäck", "wall", "vik",
    "ros",
)  # fmt: skip

_ONSETS: tuple[str, ...] = (
    "A", "Aa", "Ai", "E", "Ee", "Ei", "I", "Ii", "O", "Oi", "U", "Uu", "Ha", "He", "Hi", "Ho", "Hu", "Ja", "Je",
    "Jo", "Ju", "Ka", "Ke", "Ki", "Ko", "Ku", "La", "Le", "Li", "Lo", "Lu", "Ma", "Me", "Mi", "Mo", "Mu", "Na",
    "Ne", "Ni", "No", "Pa", "Pe", "Pi", "Po", "Pu", "Ra", "Re", "Ri", "Ro", "Ru", "Sa", "Se", "Si", "So", "Su",
    "Ta", "Te", "Ti", "To", "Tu", "Va", "Ve", "Vi", "Vo",
)  # fmt: skip
_MIDDLES: tuple[str, ...] = (
    "l", "ll", "n", "nn", "r", "rr", "rk", "rj", "tt", "kk", "pp", "s", "ss", "v", "lv", "nt", "mm", "h", "ht",
    "lm", "lk", "nk", "ls", "lj", "nj", "rm", "rv",
)  # fmt: skip
_MALE_ENDINGS: tuple[str, ...] = (
    "o", "i", "u", "e", "as", "us", "is", "ari", "eri", "ervo", "ero", "oni", "uli", "eli", "ako", "ikki", "etti",
    "io",
)  # fmt: skip
_FEMALE_ENDINGS: tuple[str, ...] = (
    "a", "i", "e", "ina", "iina", "ikki", "eli", "ija", "ia", "ita", "iia", "etta", "uli", "itta", "ella", "iisa",
    "uuna", "elma",
)  # fmt: skip


@dataclass(frozen=True)
class NameTable:
    """Names and the probability of each, most common first."""

    names: tuple[str, ...]
    weights: np.ndarray

    def share(self, name: str) -> float:
        """The probability of `name` (0 when the table does not hold it)."""
        return float(self.weights[self.names.index(name)]) if name in self.names else 0.0


def _curve(count: int, r0: float, a: float) -> np.ndarray:
    weights = 1.0 / (1.0 + np.arange(1, count + 1) / r0) ** a
    return weights / weights.sum()


def _ranked(head: tuple[str, ...], tail: list[str], curve: tuple[float, float], seed: int) -> NameTable:
    """Head names in their order, then the invented tail in a fixed shuffled order, shares from `curve`."""
    names = list(dict.fromkeys(head))
    known = set(names)
    fresh = [name for name in dict.fromkeys(tail) if name not in known]
    order = np.random.default_rng(seed).permutation(len(fresh))
    names.extend(fresh[i] for i in order.tolist())
    return NameTable(tuple(names), _curve(len(names), *curve))


def _invented_surnames() -> list[str]:
    out = []
    for stem in _SURNAME_STEMS:
        back = not any(ch in "äöy" for ch in stem)
        out.append(f"{stem}nen" if stem[-1] in "aeiouäöy" else f"{stem}inen")
        out.append(stem + ("la" if back else "lä"))
        out.extend(stem + ending for ending in _SURNAME_ENDINGS if not ending.startswith(stem.lower()))
    out.extend(head + tail for head in _SWEDISH_HEADS for tail in _SWEDISH_TAILS)
    return out


def _invented_given(endings: tuple[str, ...], count: int, seed: int, taken: set[str]) -> list[str]:
    """`count` given names made of an onset, a consonant cluster and an ending, none in `taken`."""
    every = [onset + middle + ending for onset in _ONSETS for middle in _MIDDLES for ending in endings]
    picks = np.random.default_rng(seed).permutation(len(every)).tolist()
    out: list[str] = []
    for i in picks:
        if every[i] not in taken:
            out.append(every[i])
            if len(out) == count:
                break
    return out


@cache
def surnames() -> NameTable:
    return _ranked(SURNAMES_HEAD, _invented_surnames(), _SURNAME_CURVE, 11)


@cache
def first_names(male: bool) -> NameTable:
    """Calling names of men (`male`) or women."""
    taken = set(MALE_FIRST_HEAD) | set(FEMALE_FIRST_HEAD) | set(MALE_MIDDLE_HEAD) | set(FEMALE_MIDDLE_HEAD)
    if male:
        tail = _invented_given(_MALE_ENDINGS, _MALE_FIRST_TAIL, 12, taken)
        return _ranked(MALE_FIRST_HEAD, tail, _MALE_FIRST_CURVE, 13)
    tail = _invented_given(_FEMALE_ENDINGS, _FEMALE_FIRST_TAIL, 14, taken)
    return _ranked(FEMALE_FIRST_HEAD, tail, _FEMALE_FIRST_CURVE, 15)


@cache
def middle_names(male: bool) -> NameTable:
    """Second given names: mostly the traditional ones, a quarter drawn like a first name."""
    head = MALE_MIDDLE_HEAD if male else FEMALE_MIDDLE_HEAD
    first = first_names(male)
    weights = dict(zip(head, (1 - _MIDDLE_FROM_FIRST) * _curve(len(head), *_MIDDLE_CURVE), strict=True))
    for name, weight in zip(first.names, first.weights.tolist(), strict=True):
        weights[name] = weights.get(name, 0.0) + _MIDDLE_FROM_FIRST * weight
    ordered = sorted(weights, key=lambda name: -weights[name])
    return NameTable(tuple(ordered), np.array([weights[name] for name in ordered]))


@cache
def similar_names(name: str, male: bool) -> tuple[str, ...]:
    """Common names of the given sex that look like `name` but are other names (sorted, may be empty).

    Alike means: in one of `SIMILAR_GROUPS`, a pair of `CROSS_SEX_PAIRS`, or the same first three letters.
    """
    pool = set(MALE_FIRST_HEAD if male else FEMALE_FIRST_HEAD)
    alike = {other for group in SIMILAR_GROUPS if name in group for other in group}
    alike |= {other for pair in CROSS_SEX_PAIRS if name in pair for other in pair}
    if len(name) >= 4:
        alike |= {other for other in pool if other[:3] == name[:3]}
    return tuple(sorted((alike & pool) - {name}))
