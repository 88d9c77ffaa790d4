################################################################################
# Dead letters, so that no work is lost: one encrypted SQS queue for the functions that act on
# events (the action functions and the dashboard function), and the delivery settings that lead
# to it. Lambda retries a failed asynchronous invocation twice, then sends an on-failure record
# ({"requestContext", "requestPayload": <the event>, "responsePayload": <the error>, ...}) with the
# function's role; EventBridge retries delivering an event to a function for up to 24 hours (185
# attempts), then sends the event itself (as events.amazonaws.com for the rule); a command that
# failed three times on its queue (commands.tf) is redriven here. Messages are kept 4 days (a long
# weekend); the alarm <name>-functions-DeadLetters (alarms.tf) fires as soon as one is waiting, and
# scripts/replay_dead_letters.py re-drives each message to the function it was meant for, deleting
# it only after that function handled it (docs/reliability.md). The monitor is not wired: each
# run measures "now", so a failed run is superseded by the next one five minutes later (and
# counted by the monitor's own alarms); a replay would only repeat an old window.
################################################################################

locals {
  dead_letter_queue_name = "${var.name}-dead-letters"
  # Where the functions' dead letters go, known at plan time (the queue policy and the functions'
  # policies name it before the queue exists).
  dead_letter_queue_arn = "arn:${local.partition}:sqs:${local.home_region}:${local.account_id}:${local.dead_letter_queue_name}"

  # 4 days: a failure on Friday evening is still there on Tuesday morning.
  dead_letter_retention_seconds = 4 * 24 * 3600

  # Delivery settings of every function wired to the queue (see modules/lambda-function).
  reliable_delivery = {
    dead_letter_queue_arn              = aws_sqs_queue.dead_letters.arn
    dead_letter_queue_kms_key_arn      = var.kms_key_arn
    async_max_retry_attempts           = 2
    async_max_event_age_seconds        = 6 * 3600
    event_target_max_retry_attempts    = 185
    event_target_max_event_age_seconds = 24 * 3600
  }

  # Function name of every function whose failures land in the queue, by role.
  dead_letter_function_names = {
    for role, fn in local.function_names : role => fn
    if contains(local.action_roles, role) || (role == "dashboard" && var.create_dashboard)
  }

  # The EventBridge rules of those functions are named "<function name>-<key>"
  # (modules/lambda-function); their roles "<iam_role_path><function name>".
  dead_letter_rule_arn_patterns = [
    for role, fn in local.dead_letter_function_names : "arn:${local.partition}:events:${local.home_region}:${local.account_id}:rule/${fn}-*"
  ]
  dead_letter_role_arns = [
    for role, fn in local.dead_letter_function_names : "arn:${local.partition}:iam::${local.account_id}:role${var.iam_role_path}${fn}"
  ]
}

# Encryption: SSE-KMS with var.kms_key_arn when set (its key policy must let events.amazonaws.com
# use the key, as for the topic), else SSE-SQS (SQS-managed keys), which SQS applies to every new
# queue by default. The AWS managed key alias/aws/sqs is NOT used: EventBridge (a service
# principal) cannot use it, so target dead letters would be lost. sqs_managed_sse_enabled is not
# set because the aws provider 3.39 does not know it (5.x/6.x read the service default back).
resource "aws_sqs_queue" "dead_letters" {
  #checkov:skip=CKV_AWS_27:Encrypted: SSE-KMS with var.kms_key_arn when set, otherwise SSE-SQS, which SQS enables on every new queue by default (sqs_managed_sse_enabled cannot be written: the aws provider 3.39 does not have it). alias/aws/sqs is not an option: EventBridge cannot use the AWS managed key.
  name                      = local.dead_letter_queue_name
  message_retention_seconds = local.dead_letter_retention_seconds
  kms_master_key_id         = var.kms_key_arn
  # Long enough for the replay script to invoke the slowest function (the dashboard, 900 s).
  visibility_timeout_seconds = 960
  tags                       = var.tags
}

data "aws_iam_policy_document" "dead_letters" {
  statement {
    sid       = "AllowModuleRules"
    actions   = ["sqs:SendMessage"]
    resources = [local.dead_letter_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = local.dead_letter_rule_arn_patterns
    }
  }

  statement {
    sid       = "AllowFunctionRoles"
    actions   = ["sqs:SendMessage"]
    resources = [local.dead_letter_queue_arn]

    principals {
      type        = "AWS"
      identifiers = local.dead_letter_role_arns
    }
  }

  # No request of any kind over plain HTTP (AWS's advice for SQS: deny sqs:* unless
  # aws:SecureTransport is true, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-security-best-practices.html#enforce-encryption-data-in-transit).
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.dead_letter_queue_arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # Nobody else may put messages in: a forged message would be replayed to a function.
  statement {
    sid       = "DenyOtherSenders"
    effect    = "Deny"
    actions   = ["sqs:SendMessage"]
    resources = [local.dead_letter_queue_arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotLike"
      variable = "aws:SourceArn"
      values   = local.dead_letter_rule_arn_patterns
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.dead_letter_role_arns
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letters" {
  queue_url = aws_sqs_queue.dead_letters.id
  policy    = data.aws_iam_policy_document.dead_letters.json

  # SQS checks that the role principals exist.
  depends_on = [module.action, module.dashboard]
}
