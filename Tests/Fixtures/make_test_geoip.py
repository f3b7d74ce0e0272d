#!/usr/bin/env python3
"""Write a small GeoIP2-City-shaped MaxMind DB for Beacon's tests.

    make_test_geoip.py OUT_PATH [--expectations JSON_PATH]

The records have the same shape as GeoLite2/GeoIP2 City (country.iso_code,
country.names.en, subdivisions[0].iso_code / names.en, city.names.en,
location.latitude / longitude / time_zone, postal.code, plus continent,
registered_country and names in a second language that readers must ignore).
The networks are the documentation-style ones MaxMind uses in its own test
databases; the data is ours and only has to be self-consistent.

Tests/Fixtures/geoip-expectations.json lists, for addresses inside and outside
these networks, the GeoLocation (Swift, BeaconGeoIP) a lookup must return, or
null. It was written with --expectations from the table below; keep the two in
step (running with --expectations rewrites it).

Needs the PyPI package `mmdb-writer` (and its dependency netaddr).
"""

import argparse
import json
import os
import sys
import time

from netaddr import IPSet
from mmdb_writer import MMDBWriter


def names(en, de=None):
    result = {"en": en}
    if de:
        result["de"] = de
    return result


CONTINENTS = {
    "EU": {"code": "EU", "geoname_id": 6255148, "names": names("Europe", "Europa")},
    "NA": {"code": "NA", "geoname_id": 6255149, "names": names("North America", "Nordamerika")},
    "AS": {"code": "AS", "geoname_id": 6255147, "names": names("Asia", "Asien")},
}

COUNTRIES = {
    "GB": {"geoname_id": 2635167, "iso_code": "GB", "names": names("United Kingdom", "Vereinigtes Königreich")},
    "SE": {"geoname_id": 2661886, "iso_code": "SE", "names": names("Sweden", "Schweden")},
    "US": {"geoname_id": 6252001, "iso_code": "US", "names": names("United States", "USA")},
    "JP": {"geoname_id": 1861060, "iso_code": "JP", "names": names("Japan")},
    "BT": {"geoname_id": 1252634, "iso_code": "BT", "names": names("Bhutan")},
}


def city_record(continent, country, subdivisions=(), city=None, location=None, postal=None):
    record = {
        "continent": CONTINENTS[continent],
        "country": COUNTRIES[country],
        "registered_country": COUNTRIES[country],
    }
    if subdivisions:
        record["subdivisions"] = [
            {"geoname_id": geoname_id, "iso_code": code, "names": names(name)}
            for (code, name, geoname_id) in subdivisions
        ]
    if city:
        record["city"] = {"geoname_id": city[1], "names": names(city[0])}
    if location:
        latitude, longitude, time_zone, radius = location
        record["location"] = {
            "accuracy_radius": radius,
            "latitude": float(latitude),
            "longitude": float(longitude),
            "time_zone": time_zone,
        }
    if postal:
        record["postal"] = {"code": postal}
    return record


# (networks, record)
NETWORKS = [
    (["81.2.69.0/24"], city_record(
        "EU", "GB", [("ENG", "England", 6269131)], ("London", 2643743),
        (51.5142, -0.0931, "Europe/London", 10), "EC1A")),
    # Two subdivisions: the first (largest) one is the region.
    (["2.125.160.0/24"], city_record(
        "EU", "GB", [("ENG", "England", 6269131), ("WBK", "West Berkshire", 3333217)],
        ("Boxford", 2655045), (51.75, -1.25, "Europe/London", 100), "OX1")),
    # Non-ASCII names.
    (["89.160.20.0/24"], city_record(
        "EU", "SE", [("E", "Östergötland County", 2685867)], ("Linköping", 2694762),
        (58.4167, 15.6167, "Europe/Stockholm", 76), None)),
    (["216.160.83.0/24"], city_record(
        "NA", "US", [("WA", "Washington", 5815135)], ("Milton", 5803556),
        (47.2513, -122.3149, "America/Los_Angeles", 22), "98354")),
    # IPv6, country and coordinates only.
    (["2001:218::/32"], city_record(
        "AS", "JP", (), None, (35.68536, 139.75309, "Asia/Tokyo", 100), None)),
    # A record with no country, only the registered one (like MaxMind's
    # anonymous/satellite ranges): nothing GeoLocation reports, so nil.
    (["67.43.156.0/24"], {
        "continent": CONTINENTS["AS"],
        "registered_country": COUNTRIES["BT"],
        "traits": {"is_anonymous_proxy": True},
    }),
]


def location_of(record):
    """The GeoLocation (BeaconGeoIP) a reader returns for `record`."""
    def get(*path):
        value = record
        for key in path:
            if isinstance(value, list):
                if key >= len(value):
                    return None
                value = value[key]
            elif isinstance(value, dict) and key in value:
                value = value[key]
            else:
                return None
        return value

    location = {
        "countryCode": get("country", "iso_code"),
        "countryName": get("country", "names", "en"),
        "region": get("subdivisions", 0, "names", "en"),
        "regionCode": get("subdivisions", 0, "iso_code"),
        "city": get("city", "names", "en"),
        "latitude": get("location", "latitude"),
        "longitude": get("location", "longitude"),
        "timeZone": get("location", "time_zone"),
        "postalCode": get("postal", "code"),
    }
    return None if all(v is None for v in location.values()) else location


# address -> index into NETWORKS, or None for "not in the database".
PROBES = {
    "81.2.69.160": 0,
    "81.2.69.1": 0,
    # IPv4-mapped IPv6 (what a dual-stack socket reports): same as the IPv4 address.
    "::ffff:81.2.69.160": 0,
    "2.125.160.216": 1,
    "89.160.20.128": 2,
    "216.160.83.56": 3,
    "2001:218::1": 4,
    "2001:218:ffff::abcd": 4,
    "67.43.156.10": 5,
    # Public, but not in this small database.
    "8.8.8.8": None,
    "81.2.70.1": None,
    "2001:4860:4860::8888": None,
    # Private, loopback, link-local, reserved: never in a GeoIP database.
    "10.0.0.1": None,
    "172.16.5.4": None,
    "192.168.1.1": None,
    "127.0.0.1": None,
    "169.254.1.1": None,
    "0.0.0.0": None,
    "255.255.255.255": None,
    "::1": None,
    "fe80::1": None,
    "fd00::1": None,
}


class _Writer(MMDBWriter):
    def __init__(self, build_epoch, **kwargs):
        super().__init__(**kwargs)
        self._build_epoch = build_epoch

    def _build_meta(self):
        meta = super()._build_meta()
        meta["build_epoch"] = self._build_epoch
        return meta


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_path", help="where to write the .mmdb file")
    parser.add_argument("--expectations", metavar="JSON_PATH",
                        help="also (re)write the expectations file")
    args = parser.parse_args(argv)

    # Reproducible output when SOURCE_DATE_EPOCH is set.
    build_epoch = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    writer = _Writer(
        build_epoch,
        ip_version=6,
        ipv4_compatible=True,  # IPv4 networks live at ::/96, as in MaxMind's DBs
        database_type="GeoIP2-City",
        languages=["en", "de"],
        description={"en": "Beacon test GeoIP2 City database", "de": "Beacon-Testdatenbank"},
    )
    for networks, record in NETWORKS:
        writer.insert_network(IPSet(networks), record)

    out_dir = os.path.dirname(os.path.abspath(args.out_path))
    os.makedirs(out_dir, exist_ok=True)
    tmp_path = args.out_path + ".tmp"
    writer.to_db_file(tmp_path)
    os.replace(tmp_path, args.out_path)

    if args.expectations:
        expectations = {
            ip: (None if index is None else location_of(NETWORKS[index][1]))
            for ip, index in PROBES.items()
        }
        with open(args.expectations, "w", encoding="utf-8") as f:
            json.dump(expectations, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
