"""Made-up patients with a realistic spread of names.

Common family names follow a Zipf curve (a few names cover many patients, as Nguyễn or Müller
do in real clinics), the rest come from invented syllables, so prefix searches range from
"thousands of hits" to "exactly one". Nothing here is or resembles a real patient record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

COMMON_FAMILY = (
    "Nguyễn", "Müller", "Smith", "Schmidt", "Trần", "Johnson", "Schneider", "Lê", "Williams",
    "Fischer", "Brown", "Phạm", "Weber", "Jones", "Meyer", "Hoàng", "Miller", "Wagner", "Davis",
    "Becker", "Huỳnh", "Garcia", "Schulz", "Wilson", "Phan", "Hoffmann", "Taylor", "Schäfer",
    "Vũ", "Anderson", "Koch", "Thomas", "Bauer", "Võ", "Moore", "Richter", "Martin", "Đặng",
    "Klein", "Jackson", "Wolf", "Bùi", "Thompson", "Schröder", "White", "Đỗ", "Neumann",
    "Harris", "Schwarz", "Hồ", "Clark", "Zimmermann", "Lewis", "Ngô", "Braun", "Walker",
    "Krüger", "Dương", "Hall", "Hofmann", "Lý", "Young", "Hartmann", "King", "Lange", "Wright",
    "O'Brien", "Smith-Jones", "van der Berg", "De Luca", "García López", "MacDonald",
    "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Schmid", "Schulze", "Maier", "Köhler",
)  # fmt: skip
GIVEN = (
    "Anna", "Maria", "Thomas", "Michael", "Linh", "Minh", "Sarah", "David", "Lena", "Jonas",
    "Emma", "Lukas", "Mai", "Huong", "James", "Mary", "Robert", "Patricia", "John", "Jennifer",
    "Sophie", "Felix", "Lan", "Tuan", "Laura", "Paul", "Julia", "Leon", "Hanh", "Quang",
    "Elizabeth", "William", "Linda", "Richard", "Barbara", "Joseph", "Susan", "Charles",
    "Katharina", "Stefan", "Thu", "Hung", "Anh", "Duc", "Ngoc", "Phuong", "Ursula", "Klaus",
    "Anna Maria", "Jean-Luc", "Karl-Heinz", "Marie-Claire", "Thi Mai", "Van Nam",
)  # fmt: skip
ONSETS = ("b", "br", "d", "f", "g", "h", "k", "kl", "l", "m", "n", "p", "r", "s", "st", "t", "v",
          "w", "z", "sch", "th", "tr")  # fmt: skip
VOWELS = ("a", "e", "i", "o", "u", "au", "ei", "ie", "oa", "y")
CODAS = ("", "", "n", "r", "l", "s", "t", "nd", "rk", "ng", "tz", "m")
MEDICATIONS = ("amlodipine", "metformin", "gabapentin", "tizanidine", "sertraline", "ramipril")

# Share of patients with a common family name; the others get an invented one.
COMMON_SHARE = 0.4


@dataclass(frozen=True, slots=True)
class MadeUpPatient:
    mrn: str
    given_name: str
    family_name: str
    birth_date: date
    sex: str
    weight_kg: Decimal
    height_cm: Decimal
    medications: tuple[str, ...]


class NameSource:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._common_weights = [1 / rank for rank in range(1, len(COMMON_FAMILY) + 1)]

    def family_name(self) -> str:
        if self._rng.random() < COMMON_SHARE:
            return self._rng.choices(COMMON_FAMILY, self._common_weights)[0]
        return self._invented()

    def given_name(self) -> str:
        return self._rng.choice(GIVEN)

    def _invented(self) -> str:
        syllables = self._rng.randint(2, 3)
        parts = (
            self._rng.choice(ONSETS) + self._rng.choice(VOWELS) + self._rng.choice(CODAS)
            for _ in range(syllables)
        )
        return "".join(parts).capitalize()


def made_up_patients(count: int, *, seed: int = 20261122) -> list[MadeUpPatient]:
    """`count` patients with unique 8-digit MRNs, the same list for the same seed."""
    rng = random.Random(seed)
    names = NameSource(rng)
    mrns = rng.sample(range(10_000_000, 99_999_999), count)
    born_from = date(1935, 1, 1)
    return [
        MadeUpPatient(
            mrn=str(mrn),
            given_name=names.given_name(),
            family_name=names.family_name(),
            birth_date=born_from + timedelta(days=rng.randrange(365 * 70)),
            sex=rng.choice(("female", "male")),
            weight_kg=Decimal(rng.randrange(450, 1200)) / 10,
            height_cm=Decimal(rng.randrange(150, 200)),
            medications=tuple(rng.sample(MEDICATIONS, rng.randint(0, 2))),
        )
        for mrn in mrns
    ]
