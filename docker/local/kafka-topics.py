#!/opt/kafka-tools/bin/python
"""beacon-kafka-topics [--broker HOST:PORT] [--timeout S] NAME:PARTITIONS...

Creates the topics that are missing (an existing one is left as it is), then
lists them. Waits up to --timeout seconds for the broker to answer first, so a
one-shot container may start together with the broker."""
import argparse
import sys
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic


def main() -> int:
    parser = argparse.ArgumentParser(prog="beacon-kafka-topics")
    parser.add_argument("--broker", default="kafka:9092")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("topics", nargs="+", metavar="NAME:PARTITIONS")
    args = parser.parse_args()
    wanted = {}
    for spec in args.topics:
        name, _, partitions = spec.partition(":")
        if not name or not partitions.isdigit() or int(partitions) < 1:
            parser.error(f"{spec!r}: expected NAME:PARTITIONS")
        wanted[name] = int(partitions)

    admin = AdminClient({"bootstrap.servers": args.broker})
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            existing = admin.list_topics(timeout=5).topics
            break
        except KafkaException as error:
            if time.monotonic() > deadline:
                print(f"beacon-kafka-topics: {args.broker} did not answer in {args.timeout:.0f} s: {error}", file=sys.stderr)
                return 1
            time.sleep(1)

    missing = [NewTopic(name, partitions) for name, partitions in wanted.items() if name not in existing]
    for name, future in admin.create_topics(missing).items() if missing else []:
        try:
            future.result(timeout=30)
            print(f"created {name}")
        except KafkaException as error:
            if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                print(f"beacon-kafka-topics: creating {name}: {error}", file=sys.stderr)
                return 1
    for name, meta in sorted(admin.list_topics(timeout=10).topics.items()):
        if name in wanted:
            print(f"{name} {len(meta.partitions)} partitions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
