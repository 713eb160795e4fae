#!/usr/bin/env python3
"""Unit conversion: reads {"value": 10, "from": "km", "to": "mi"} as JSON on stdin and prints
{"value": 10, "from": "km", "to": "mi", "result": 6.213712, "category": "length"}.

Units of one category are converted through that category's base unit with exact factors
(the international yard and pound of 1959, NIST SP 811 appendix B); temperatures are
converted through kelvin with offsets. Errors print {"error": "..."} and exit 1.
"""

import json
import math
import sys

# category -> unit -> factor to the base unit (first entry, factor 1).
FACTORS = {
    "length": {
        "m": 1.0, "km": 1000.0, "cm": 0.01, "mm": 0.001, "um": 1e-6, "nm": 1e-9,
        "in": 0.0254, "ft": 0.3048, "yd": 0.9144, "mi": 1609.344, "nmi": 1852.0,
    },
    "mass": {
        "kg": 1.0, "g": 0.001, "mg": 1e-6, "t": 1000.0,
        "lb": 0.45359237, "oz": 0.028349523125, "st": 6.35029318,
    },
    "volume": {
        "l": 1.0, "ml": 0.001, "m3": 1000.0, "cm3": 0.001,
        "gal": 3.785411784, "qt": 0.946352946, "pt": 0.473176473, "cup": 0.2365882365,
        "floz": 0.0295735295625, "imp_gal": 4.54609,
    },
    "time": {
        "s": 1.0, "ms": 0.001, "us": 1e-6, "min": 60.0, "h": 3600.0, "day": 86400.0,
        "week": 604800.0,
    },
    "speed": {
        "m/s": 1.0, "km/h": 1000.0 / 3600.0, "mph": 1609.344 / 3600.0, "kn": 1852.0 / 3600.0,
        "ft/s": 0.3048,
    },
    "data": {
        "B": 1.0, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
        "KiB": 1024.0, "MiB": 1024.0 ** 2, "GiB": 1024.0 ** 3, "TiB": 1024.0 ** 4, "bit": 0.125,
    },
    "area": {
        "m2": 1.0, "km2": 1e6, "cm2": 1e-4, "ha": 1e4, "acre": 4046.8564224,
        "ft2": 0.09290304, "mi2": 2589988.110336,
    },
}

# Temperature: unit -> (to kelvin, from kelvin).
TEMPERATURE = {
    "K": (lambda v: v, lambda k: k),
    "C": (lambda v: v + 273.15, lambda k: k - 273.15),
    "F": (lambda v: (v - 32.0) * 5.0 / 9.0 + 273.15, lambda k: (k - 273.15) * 9.0 / 5.0 + 32.0),
}

ALIASES = {
    "meter": "m", "meters": "m", "metre": "m", "kilometer": "km", "kilometers": "km",
    "mile": "mi", "miles": "mi", "foot": "ft", "feet": "ft", "inch": "in", "inches": "in",
    "yard": "yd", "yards": "yd", "kilogram": "kg", "kilograms": "kg", "gram": "g",
    "grams": "g", "pound": "lb", "pounds": "lb", "lbs": "lb", "ounce": "oz", "ounces": "oz",
    "liter": "l", "liters": "l", "litre": "l", "L": "l", "mL": "ml", "gallon": "gal",
    "gallons": "gal", "second": "s", "seconds": "s", "sec": "s", "minute": "min",
    "minutes": "min", "hour": "h", "hours": "h", "hr": "h", "days": "day", "weeks": "week",
    "kph": "km/h", "kmh": "km/h", "knot": "kn", "knots": "kn", "celsius": "C",
    "fahrenheit": "F", "kelvin": "K", "°C": "C", "°F": "F", "degC": "C", "degF": "F",
    "byte": "B", "bytes": "B", "bits": "bit",
}


class ConversionError(Exception):
    pass


def canonical(unit):
    if not isinstance(unit, str) or not unit.strip():
        raise ConversionError("units must be non-empty strings")
    unit = unit.strip()
    unit = ALIASES.get(unit, ALIASES.get(unit.lower(), unit))
    return unit


def category_of(unit):
    if unit in TEMPERATURE:
        return "temperature"
    for category, units in FACTORS.items():
        if unit in units:
            return category
    return None


def convert(value, from_unit, to_unit):
    """Returns (result, category); raises ConversionError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConversionError('"value" must be a finite number')
    src, dst = canonical(from_unit), canonical(to_unit)
    src_cat, dst_cat = category_of(src), category_of(dst)
    if src_cat is None:
        raise ConversionError(f"unknown unit {from_unit!r}")
    if dst_cat is None:
        raise ConversionError(f"unknown unit {to_unit!r}")
    if src_cat != dst_cat:
        raise ConversionError(f"cannot convert {src_cat} ({from_unit}) to {dst_cat} ({to_unit})")
    if src_cat == "temperature":
        kelvin = TEMPERATURE[src][0](value)
        if kelvin < 0:
            raise ConversionError(f"{value} {from_unit} is below absolute zero")
        result = TEMPERATURE[dst][1](kelvin)
    else:
        result = value * FACTORS[src_cat][src] / FACTORS[dst_cat][dst]
    # 12 significant digits hide binary floating-point noise (0.30000000000000004).
    result = float(f"{result:.12g}")
    if result.is_integer() and abs(result) < 2 ** 53:
        result = int(result)
    return result, src_cat


def list_units():
    units = {category: sorted(units) for category, units in FACTORS.items()}
    units["temperature"] = sorted(TEMPERATURE)
    return units


def main():
    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as exc:
        return _fail(f"input is not valid JSON: {exc}")
    if isinstance(request, dict) and request.get("list_units") is True:
        print(json.dumps({"units": list_units()}))
        return 0
    if not isinstance(request, dict) or not {"value", "from", "to"} <= request.keys():
        return _fail('input must be {"value": <number>, "from": "<unit>", "to": "<unit>"}')
    try:
        result, category = convert(request["value"], request["from"], request["to"])
    except ConversionError as exc:
        return _fail(str(exc))
    print(json.dumps({"value": request["value"], "from": request["from"], "to": request["to"],
                      "result": result, "category": category}, ensure_ascii=False))
    return 0


def _fail(message):
    print(json.dumps({"error": message}, ensure_ascii=False))
    print(f"unit-converter: {message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
