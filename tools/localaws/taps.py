"""Taps on the local AWS: what subscribers of a topic received (test and demo tooling)."""

from __future__ import annotations

from tools.localaws import LocalAWS


class TopicTap:
    """An SQS queue subscribed to an SNS topic (raw delivery): the text every subscriber got."""

    def __init__(self, aws: LocalAWS, topic_arn: str, region: str = "us-east-1") -> None:
        self.sqs = aws.client("sqs", region)
        name = "topic-tap-" + topic_arn.rsplit(":", 1)[1][:60]
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws.client("sns", region).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn,
                                            Attributes={"RawMessageDelivery": "true"})
        self.seen: list[str] = []

    def messages(self) -> list[str]:
        while True:
            got = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return self.seen
            for m in got:
                self.seen.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
