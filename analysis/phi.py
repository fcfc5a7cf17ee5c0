"""The PHI guard: a file holding direct identifiers is refused as a whole.

The PHI guard (HIPAA Safe Harbor, the identifiers an EHR export is likely to carry): a column whose
name says it holds names, e-mail, phone, street address, SSN, medical record number, date of birth (or
birth year), a full ZIP code or a health plan member / policy number, or any text value shaped like an
e-mail address, a US phone number (also ten bare digits shaped like one) or an SSN, refuses the whole
upload. Clinic names ("Main St Clinic"), dates, decimals and keys such as "P-000123" are not PHI.

Column names are compared loosely (:func:`header_key`: camelCase split, case and punctuation ignored); values
are checked through each column's distinct values with RE2 patterns (pyarrow), so the guard is cheap on long
files.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc

from analysis.validate import IssueLog, quoted, rows_text

#: letters of other scripts drawn like Latin ones (Unicode's confusables for a header's letters: a Cyrillic 'а' in
#: 'Nаme'), Latin small capitals, and letters NFKD does not take apart
CONFUSABLES = str.maketrans(
    {
        **dict(zip("аеорсухіјѕԁһӏԛԝүкмнтвьɡʏɑıȷ", "aeopcyxijsdhlqwykmhtbbgyaij")),
        **dict(zip("АВЕКМНОРСТХУІЈЅԀҺӀԚԜҮ", "ABEKMHOPCTXYIJSDHIQWY")),
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαορικνυτχϲϳε", "ABEZHIKMNOPTYXaoprikvutxcje")),
        **dict(zip("օսհոᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "ounhabcdefghijklmnoprstuvwyz")),
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ß": "ss",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "#": " number ",
    }
)


def fold(text: str) -> str:
    """Text as a reader sees it: NFKC (full-width and styled letters -> plain), invisible characters removed,
    confusable letters of other scripts -> Latin, accents removed ('Número' -> 'Numero'), '#' -> ' number '."""
    text = unicodedata.normalize("NFKC", str(text))
    text = "".join(c for c in text if unicodedata.category(c) != "Cf").translate(CONFUSABLES)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def header_key(name: str) -> str:
    """A column name compared loosely: folded (:func:`fold`, but '#' kept as punctuation), camelCase split, lower
    case, runs of punctuation and spaces -> one space."""
    name = fold(str(name).replace("#", " "))
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    return re.sub(r"[^0-9a-z]+", " ", name.lower()).strip()


#: words that make a name or an address someone else's (the clinic's, the form's, the drug's), in several languages
_NOT_A_PERSON = (
    r"clinic|clinics|clinica|clinique|klinik|site|sitio|sede|standort|praxis|centro|centre|center|instrument|measure|"
    r"assessment|scale|location|practice|facility|office|provider|clinician|doctor|physician|therapist|file|drug|"
    r"medication|test|questionnaire|survey|program|insurance|payer|plan|staff|nurse|diagnosis|condition|device|"
    r"vendor|product|study|protocol|row|flowsheet|column|field|item|component|event|department|dept|encounter|order|"
    r"procedure|visit|appointment|form|question|score|outcome|med|room|unit|referring|referral|pharmacy|lab|hospital|"
    r"organization|organisation|company|employer|group|team|building|server|host|user|display|short|long|code"
)
_BEFORE = re.compile(rf"\b({_NOT_A_PERSON})\b")
_OF = r"(?:of|du|de|del|des|della|der|van|da|do) (?:the |la |le |l )?"
_NAME_WORDS = (
    r"name|names|surname|surnames|firstname|lastname|fullname|patientname|ptname|fname|lname|initials|forename|"
    r"forenames|nombre|nombres|apellido|apellidos|nom|prenom|prenoms|vorname|nachname|familienname|cognome|nome|"
    r"sobrenome|naam|voornaam|achternaam|imie|nazwisko|nm"
)
_ADDRESS_WORDS = (
    r"address|street|addr|residence|residential|domicile|domicilio|direccion|adresse|anschrift|strasse|wohnort|"
    r"indirizzo|endereco|morada|apartment|apt|house number|city|town|county|municipality|ciudad|ville|stadt|"
    r"localidad|latitude|longitude|lat long|coordinates|gps|geolocation"
)
# (kind, pattern, whether a non-person word before it, or 'of <word>' after it, makes it someone else's)
PHI_COLUMN_PATTERNS = (
    ("name", re.compile(rf"\b({_NAME_WORDS})\b|^(first|last|given|middle|family|maiden)( (initial|init|i))?$"), True),
    (
        "e-mail",
        re.compile(r"\b(e ?mail|email address|e mail address|mail|correo|courriel|emailadresse|e post)\b"),
        False,
    ),
    (
        "phone",
        re.compile(
            r"\b(phone|telephone|tel|tele|mobile|mob|cell|cellphone|fax|pager|ph no|contact number|telefono|telefone|"
            r"telefon|telefonnummer|celular|movil|portable|handy|whatsapp)\b"
        ),
        False,
    ),
    ("street address", re.compile(rf"\b({_ADDRESS_WORDS})\b"), True),
    (
        "SSN",
        re.compile(
            r"\b(ssn|social security|social sec|socsec|soc sec|ss number|ss no|ss num|sin|nss|nir|seguro social|"
            r"securite sociale|sozialversicherung\w*)\b|^ss$"
        ),
        False,
    ),
    (
        "national ID or licence number",
        re.compile(
            r"\b(national insurance|nino|nhs number|nhs no|health card|personnummer|bsn|codice fiscale|dni|nie|curp|"
            r"cpf|passport|national id|id card|drivers? licen[cs]e|driving licen[cs]e|licen[cs]e (number|no)|"
            r"steuer id|tax id|taxpayer id|tin)\b"
        ),
        False,
    ),
    (
        "medical record number",
        re.compile(
            r"\b(mrn|mrns|medical record|med rec|medrec|mr number|mr no|mr num|mr nbr|mr id|hospital number|hosp no|"
            r"historia clinica|no historia|nhc|dossier|krankenakte|cartella clinica|prontuario|"
            r"(?:patient )?account number|acct|acct no|account no)\b|^(mr|account|acct)$|\bchart( (number|no|num|nbr|id))?$"
        ),
        False,
    ),
    (
        "date of birth",
        re.compile(
            r"\b(dob|d o b|date of birth|birth date|birthdate|birthday|born|birth year|birthyear|birth yr|"
            r"year of birth|yob|yr of birth|birth|birthdt|bdate|b date|bday|b day|dt of birth|geburt\w*|geb datum|"
            r"nacimiento|fecha nac|fec nac|f nac|naissance|date nais|ne le|nee le|nascita|nascimento|geboorte\w*|"
            r"fodsel\w*|fodelse\w*|urodzenia|narozeni|syntymaaika)\b"
        ),
        False,
    ),
    (
        "ZIP code",
        re.compile(r"\b(zip|zipcode|zip code|postal|postal code|postcode|post code|plz|postleitzahl)\b"),
        False,
    ),
    (
        "health plan beneficiary number",
        re.compile(
            r"\b(member|subscriber|policy|beneficiary|insurance|insured|medicaid|medicare|health plan) "
            r"(id|number|no|num|nbr)\b|\b(memberid|subscriberid|policyid|policynumber|policyno|beneficiaryid)\b"
        ),
        False,
    ),
    ("IP address", re.compile(r"\b(ip address|ip addr|ipaddress|ip v4|ipv4|ipv6)\b"), False),
)
#: identifiers spelt as one word or letter by letter ('N.a.m.e', 'DateOfBirth' in capitals): the key's letters
#: without spaces, contained in it ...
_JOINED = (
    ("name", ("firstname", "lastname", "surname", "fullname", "patientname", "nachname", "vorname", "apellido")),
    ("e-mail", ("emailaddress", "correoelectronico")),
    ("phone", ("phonenumber", "telephone", "cellphone", "mobilenumber", "telefono")),
    ("SSN", ("socialsecurity", "socialsec")),
    ("medical record number", ("medicalrecord",)),
    ("date of birth", ("dateofbirth", "birthdate", "birthday", "geburtsdatum", "fechadenacimiento", "datedenaissance")),
)
#: ... or equal to it
_EXACT = {"name": "name", "nom": "name", "nombre": "name", "dob": "date of birth", "ssn": "SSN", "email": "e-mail"}
_FULL_ZIP = r"\b\d{5}(-\d{4})?\b"
_BIRTH_NOT_A_DATE = re.compile(r"\b(sex|gender|assigned|weight|gestation\w*)\b")


def phi_column_kind(name: str) -> str | None:
    """What identifier a column name announces ('name', 'phone', ...), or None. The name is compared folded
    (:func:`header_key`: NFKC, confusable letters, accents, camelCase), in English and the common languages of
    exports; 'Clinic Name', 'Name of site', 'Sex at birth' are not a patient's."""
    key = header_key(name)
    for kind, pattern, others in PHI_COLUMN_PATTERNS:
        m = pattern.search(key)
        if not m:
            continue
        if others and (_BEFORE.search(key[: m.start()]) or re.match(rf"\s*{_OF}({_NOT_A_PERSON})\b", key[m.end() :])):
            continue  # "Clinic Name", "Form Name", "Name of clinic": not the patient's ("Name on form" is)
        if kind == "date of birth" and _BIRTH_NOT_A_DATE.search(key):
            continue  # "Sex at birth"
        return kind
    joined = key.replace(" ", "")
    if joined in _EXACT:
        return _EXACT[joined]
    if not _BEFORE.search(key):
        for kind, words in _JOINED:
            if any(w in joined for w in words):
                return kind
    return None


def phi_columns(table: pa.Table, exempt: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(column, kind) of the columns whose names announce a direct identifier.

    A ZIP column is flagged only when it holds full 5-digit codes (3-digit ZIPs are not identifying)."""
    exempt = set(exempt)
    found = []
    for name in table.column_names:
        kind = phi_column_kind(name)
        if kind is None or name in exempt:
            continue
        if kind == "ZIP code":
            values = pc.cast(table[name], pa.string())
            if not pc.any(pc.match_substring_regex(values, _FULL_ZIP)).as_py():
                continue
        found.append((name, kind))
    return found


# RE2 (pyarrow) patterns for values, run on the values folded (NFKC: full-width digits and '＠' plain; invisible
# characters removed; digits of every script -> 0-9); anchors by character classes, RE2 has no look-behind.
PHI_VALUE_PATTERNS = (
    (
        "e-mail addresses",
        r"[\p{L}\p{N}._%+\-]+(@|\(at\)|\[at\])[\p{L}\p{N}\-]+(\.[\p{L}\p{N}\-]+)*\.\p{L}{2,}",
    ),
    (
        "social security numbers",
        r"(^|[^0-9A-Za-z\-])(\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{3}\.\d{2}\.\d{4})([^0-9\-]|$)",
    ),
    # written with separators; or ten bare digits, a NANP number (area code and exchange start with 2-9: not an id
    # or an epoch time starting with 0 or 1), not part of a longer run of digits
    (
        "phone numbers",
        r"(^|[^0-9A-Za-z\-/.])(\+?1[ .\-]?)?(\(\d{3}\) ?|\d{3}[ .\-])\d{3}[ .\-]\d{4}([^0-9\-/.]|$)"
        r"|(^|[^0-9A-Za-z\-/.])(\+1 ?)?[2-9]\d{2}[2-9]\d{6}([^0-9\-/.]|$)",
    ),
)
#: any of the patterns (a value matches it if and only if it matches one of them)
_PHI_ANY = "|".join(f"(?:{pattern})" for _, pattern in PHI_VALUE_PATTERNS)
#: a value worth asking the phone-number library about: 7 or more digits written with a '+', brackets or
#: separators (bare digits are the NANP pattern's), that is not a date or a time
_PHONE_SHAPED = r"(^|[^0-9A-Za-z])\+?\(?\d[\d ().\-/]{5,}\d"
_SEPARATED = r"\+|\(|\d[ .\-/]+\d"
_DATE_SHAPED = (
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?\s*([AaPp][Mm]|Z|[+-]\d{2}:?\d{2})?)?\s*$"
)
#: regions whose national formats are tried besides the international one ('+44 ...') and the US one
PHONE_REGIONS = ("US", "GB", "CA", "AU", "DE", "FR", "ES", "IT", "NL", "IE")


def fold_values(values: pa.Array) -> pa.Array:
    """Values as the patterns read them: those with characters beyond ASCII folded (NFKC, invisible characters
    removed, every script's digits -> 0-9); ASCII values as they are (most columns: one pass, no Python)."""
    values = values.cast(pa.string()) if not pa.types.is_string(values.type) else values
    wide = pc.match_substring_regex(values, r"[^\x00-\x7f]").fill_null(False).to_numpy(zero_copy_only=False)
    if not wide.any():
        return values
    listed = values.to_pylist()
    for i in np.flatnonzero(wide):
        listed[i] = _fold_value(listed[i])
    return pa.array(listed, pa.string())


def _fold_value(v: str) -> str:
    v = "".join(c for c in unicodedata.normalize("NFKC", v) if unicodedata.category(c) != "Cf")
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in v)


def is_phone_number(v: str) -> bool:
    """Whether a text holds a valid phone number (libphonenumber's rules: the ``phonenumbers`` package), written
    internationally ('+44 20 7946 0958') or in the national format of a PHONE_REGIONS country ('212/555-0199')."""
    regions = PHONE_REGIONS if re.search(r"(^|\D)0\d", v) else PHONE_REGIONS[:1]
    for region in regions:
        for _ in phonenumbers.PhoneNumberMatcher(v, region, leniency=phonenumbers.Leniency.VALID):
            return True
    return False


def phi_values(table: pa.Table, rows: np.ndarray, dictionary=None) -> list[tuple[str, str, list[int]]]:
    """(column, what, first rows) for text columns holding values shaped like e-mails, phones or SSNs.

    Works on the distinct values of each column (``dictionary(name)`` -> (codes, distinct values) lets the
    caller share its dictionary encoding), so it is cheap on long files: the patterns of PHI_VALUE_PATTERNS on
    the folded values, then the phone-number library on the few values shaped like a written-out number."""
    found = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_dictionary(col.type) and dictionary is None:
            col = pc.cast(col, col.type.value_type)
        value_type = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
            continue
        if dictionary is None:
            encoded = pc.dictionary_encode(col).combine_chunks()
            codes, uniques = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), encoded.dictionary
        else:
            codes, uniques = dictionary(name)
        uniques = fold_values(uniques)
        hits = []
        if pc.any(pc.match_substring_regex(uniques, _PHI_ANY)).as_py():  # (the patterns together: most match none)
            for what, pattern in PHI_VALUE_PATTERNS:
                hits.append((what, pc.match_substring_regex(uniques, pattern).fill_null(False).to_numpy(False)))
        hits.append(("phone numbers", _library_phones(uniques)))
        for what in dict.fromkeys(w for w, _ in hits):
            hit = np.logical_or.reduce([h for w, h in hits if w == what])
            if hit.any():
                where = np.flatnonzero(np.isin(codes, np.flatnonzero(hit)))
                found.append((name, what, [int(r) for r in rows[where[:5]]]))
    return found


def _library_phones(uniques: pa.Array) -> np.ndarray:
    """Which values hold a phone number by the library, asked only of values shaped like a written-out number."""
    out = np.zeros(len(uniques), dtype=bool)
    shaped = pc.and_(
        pc.and_(pc.match_substring_regex(uniques, _PHONE_SHAPED), pc.match_substring_regex(uniques, _SEPARATED)),
        pc.invert(pc.match_substring_regex(uniques, _DATE_SHAPED)),
    )
    candidates = np.flatnonzero(shaped.fill_null(False).to_numpy(zero_copy_only=False))
    for i in candidates:
        out[i] = is_phone_number(uniques[int(i)].as_py())
    return out


# --- patient keys shaped like names -------------------------------------------------------------------------
#: words a pseudonymous key may carry beside its number ('Patient 12', 'Subject A-7', 'PT ID 0042')
KEY_WORDS = frozenset(
    "patient patients pt pts id ids subject subj client participant part study record rec case no num nbr number "
    "key ref code person anon anonymous pseudo pseudonym research site clinic group arm cohort visit test demo "
    "sample sim synthetic deid".split()
)
#: keys that say "no key" (left to the missing-key rule, or kept as written): not names
NOT_NAMES = frozenset(
    "unknown anonymous anon redacted withheld none null missing na n a not recorded unassigned tbd test demo".split()
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_HEXISH = re.compile(r"[0-9a-f]{6,}|[0-9A-F]{6,}")
#: a key of ASCII letters and digits (and - _) with a digit: never name-shaped by the rules below (with a digit, a
#: name needs two words side by side, apart only by spaces, commas or full stops); most pseudonyms look so
_CODE = re.compile(r"[A-Za-z0-9_-]*[0-9][A-Za-z0-9_-]*")


def name_shaped(value) -> bool:
    """Whether a patient key looks like a person's name rather than a pseudonym: 'Smith, John', 'John Smith',
    'SMITH JOHN A', 'María José García', 'O'Brien', '李小龍', 'J. Smith 1961' are; 'P00001', '8f3a-22', a hash,
    'Patient 12', 'A', 'PABC' are not. Without a digit, two words (other than KEY_WORDS), or one word of two or more
    letters written as a name is (not in capitals or as hexadecimal, which are codes and hashes: 'SMITH' alone
    passes); with digits, two words side by side, one of two or more letters ('Smith John 12', 'J. Smith 1961')."""
    if value is None or _CODE.fullmatch(str(value)):
        return False
    return _name_shaped_by_rules(str(value))


def _name_shaped_by_rules(value: str) -> bool:
    v = _fold_value(value).strip()
    folded = " ".join(re.sub(r"[^\w]+", " ", v.casefold()).split())
    if not v or folded in NOT_NAMES:
        return False
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(v)]
    name_words = [(w, a, b) for w, a, b in words if len(w) >= 2 and w.casefold() not in KEY_WORDS]
    if not name_words:
        return False
    if not any(c.isdigit() for c in v):
        if len(words) > 1:
            return True
        word = words[0][0]  # one word: a name when written as one (Smith, smith, José, 李小龍), not a code (PABC, 8FAD)
        return not (word.isascii() and (word.isupper() or _HEXISH.fullmatch(word))) and len(word) >= 2
    words = [(w, a, b) for w, a, b in words if w.casefold() not in KEY_WORDS]
    for (w1, _, end), (w2, start, _) in zip(words, words[1:]):
        if max(len(w1), len(w2)) >= 2 and re.fullmatch(r"[\s,.]+", v[end:start]):
            return True
    return False


def name_shaped_keys(raw, column: str) -> list[int]:
    """The spreadsheet rows (up to 5) whose patient key (``column`` of a read file: ``raw.distinct``) is
    name-shaped."""
    if not _is_text_column(raw.table[column]):
        return []
    codes, values = raw.distinct(column)
    bad = [i for i, v in enumerate(values) if name_shaped(v)]
    if not bad:
        return []
    return [int(r) for r in raw.rows[np.flatnonzero(np.isin(codes, bad))[:5]]]


def _is_text_column(col) -> bool:
    t = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def refuse_name_keys(log: IssueLog, file: str, column: str, rows: list[int]) -> None:
    """The error that refuses a file whose patient key holds names (it names the column and the first rows)."""
    log.add(
        "error",
        "PHI_NAME_KEYS",
        f"{file}: Column '{column}', the patient key, holds values shaped like people's names ({rows_text(rows)}), "
        "not pseudonymous keys. Export a pseudonymous key (e.g. P00001, or a code your EHR assigns) instead of "
        "names and upload again. Nothing from this file was kept.",
        column=column,
        rows=rows,
    )


# --- start months -------------------------------------------------------------------------------------------
#: the years a treatment start month may fall in (a month outside is not a start: a date of birth, a typing error)
FIRST_START_YEAR = 2000
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_YM = re.compile(r"(\d{4})[-/.](\d{1,2})")
_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ t].*)?")
_MY = re.compile(r"(\d{1,2})[-/.](\d{4})")
_DMY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ t].*)?")
_YYYYMM = re.compile(r"(\d{4})(\d{2})")
_NAMED = re.compile(r"([a-z]+)\.?[ \-/,]*(\d{4})|(\d{4})[ \-/,]*([a-z]+)\.?")


def start_month(value, last_year: int | None = None) -> str | None:
    """The start month 'YYYY-MM' of a value written as a month ('2024-03', '03/2024', 'Mar 2024', '202403') or as a
    date ('2024-03-15', '15/03/2024': the month kept, the day dropped); None for anything else (a name, a date whose
    month cannot be told, 03/04/2024) or a month outside FIRST_START_YEAR .. ``last_year`` (default: next year),
    such as a date of birth."""
    if value is None:
        return None
    v = _fold_value(str(value)).strip().casefold()
    year = month = None
    if m := _YMD.fullmatch(v):
        year, month = int(m.group(1)), int(m.group(2))
    elif m := _YM.fullmatch(v):
        year, month = int(m.group(1)), int(m.group(2))
    elif m := _MY.fullmatch(v):
        year, month = int(m.group(2)), int(m.group(1))
    elif m := _DMY.fullmatch(v):
        a, b = int(m.group(1)), int(m.group(2))
        year = int(m.group(3))
        month = a if (b > 12 >= a) or a == b else b if (a > 12 >= b) else None
    elif m := _YYYYMM.fullmatch(v):
        year, month = int(m.group(1)), int(m.group(2))
    elif m := _NAMED.fullmatch(v):
        word, digits = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        year, month = int(digits), _MONTHS.get(word)
    last_year = dt.date.today().year + 1 if last_year is None else last_year
    if year is None or month is None or not (1 <= month <= 12 and FIRST_START_YEAR <= year <= last_year):
        return None
    return f"{year:04d}-{month:02d}"


def refuse_phi(
    log: IssueLog, file: str, columns: list[tuple[str, str]], values: list[tuple[str, str, list[int]]]
) -> None:
    """The error issues that refuse a file holding PHI: they name the columns and the first rows."""
    if columns:
        log.add(
            "error",
            "PHI_COLUMNS",
            f"{file}: This file contains columns that look like direct identifiers: {quoted(c for c, _ in columns)} "
            f"({', '.join(sorted({k for _, k in columns}))}). Remove them (keep only a pseudonymous patient key) and "
            "upload again. Nothing from this file was kept.",
            column=", ".join(c for c, _ in columns),
        )
    for column, what, rows in values:
        log.add(
            "error",
            "PHI_VALUES",
            f"{file}: Column '{column}' contains what look like {what} ({rows_text(rows)}). Uploads must be "
            "de-identified: remove that text (or leave the column out of the export) and upload again. "
            "Nothing from this file was kept.",
            column=column,
            rows=rows,
        )
