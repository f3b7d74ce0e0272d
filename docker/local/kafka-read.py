#!/opt/kafka-tools/bin/python
"""beacon-kafka-read [--broker HOST:PORT] [--timeout S] TOPIC
   beacon-kafka-read --ping [--broker HOST:PORT]

Reads every partition of TOPIC from its start to its current end and prints
each message value as one line (exit 1 when the end was not reached within S
seconds). No consumer group: nothing is committed, and the broker's group
rebalance is not waited for. --ping asks the broker for its metadata (the
healthcheck)."""
import argparse
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient


def main() -> int:
    parser = argparse.ArgumentParser(prog="beacon-kafka-read")
    parser.add_argument("--broker", default="kafka:9092")
    parser.add_argument("--ping", action="store_true")
    parser.add_argument("--timeout", type=float, default=30)
    parser.add_argument("topic", nargs="?")
    args = parser.parse_args()
    if args.ping:
        try:
            AdminClient({"bootstrap.servers": args.broker}).list_topics(timeout=4)
            return 0
        except KafkaException as error:
            print(f"beacon-kafka-read: {error}", file=sys.stderr)
            return 1
    if not args.topic:
        parser.error("a topic is required")

    consumer = Consumer({
        "bootstrap.servers": args.broker,
        "group.id": "beacon-kafka-read",  # required by librdkafka; never joined or committed
        "enable.auto.commit": False,
        "enable.partition.eof": True,
    })
    try:
        meta = consumer.list_topics(args.topic, timeout=10).topics.get(args.topic)
        if meta is None or meta.error is not None:
            print(f"beacon-kafka-read: no topic {args.topic}: {meta.error if meta else ''}", file=sys.stderr)
            return 1
        partitions = sorted(meta.partitions)
        consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in partitions])
        at_end = set()
        deadline = time.monotonic() + args.timeout
        while len(at_end) < len(partitions):
            if time.monotonic() > deadline:
                print(f"beacon-kafka-read: {args.topic}: partitions {sorted(set(partitions) - at_end)} not read to the end in {args.timeout:.0f} s", file=sys.stderr)
                return 1
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                else:
                    print(f"beacon-kafka-read: {message.error()}", file=sys.stderr)
                continue
            sys.stdout.write(message.value().decode("utf-8", "replace") + "\n")
        return 0
    finally:
        consumer.close()


if __name__ == "__main__":
    sys.exit(main())
