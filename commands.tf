################################################################################
# Command queues: the module's own channel from the monitor (and command_principals) to the action
# functions. One encrypted SQS queue per action function, named by the contract's
# command_queue_name_format ("<function name>-commands", as personalize_monitor.commands looks it
# up, so the 4 KB environments need not carry its URL); a queue policy that lets only the monitor,
# the retiring function itself and command_principals send and denies everyone else; an event
# source mapping that hands each command to its function; failed commands go to the dead-letter
# queue (dead_letters.tf). See docs/cost-actions.md ("Who can change or delete a resource").
################################################################################

locals {
  # One command queue per action function (SQS allows 80 characters; the name variable keeps
  # function names at most 64).
  command_queue_names = { for role in local.action_roles : role => format(local.contract.command_queue_name_format, local.function_names[role]) }
  command_queue_arns  = { for role, q in local.command_queue_names : role => "arn:${local.partition}:sqs:${local.home_region}:${local.account_id}:${q}" }

  # Who may send commands: the monitor, the principals the user names, and the retiring functions
  # themselves (an idle retirement given before its data has settled goes back to its own queue).
  monitor_role_arn = "${local.role_arn_prefix}${local.function_names.monitor}"
  deferring_roles  = ["delete_campaign", "stop_recommender"]
  command_senders = {
    for role in local.action_roles : role => distinct(concat(
      [local.monitor_role_arn],
      contains(local.deferring_roles, role) ? ["${local.role_arn_prefix}${local.function_names[role]}"] : [],
      var.command_principals,
    ))
  }
}

resource "aws_sqs_queue" "commands" {
  #checkov:skip=CKV_AWS_27:Encrypted: SSE-KMS with var.kms_key_arn when set, otherwise SSE-SQS, which SQS enables on every new queue by default (sqs_managed_sse_enabled cannot be written: the aws provider 3.39 does not have it).
  for_each = local.command_queue_names

  name                       = each.value
  visibility_timeout_seconds = 6 * local.action_timeout
  message_retention_seconds  = local.dead_letter_retention_seconds
  kms_master_key_id          = var.kms_key_arn
  # A command whose function failed three times (AWS errors before it changed anything) waits in
  # the dead-letter queue, alarmed, for scripts/replay_dead_letters.py.
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.dead_letters.arn, maxReceiveCount = 3 })
  tags           = var.tags
}

data "aws_iam_policy_document" "commands" {
  for_each = local.command_queue_names

  # Nothing over plain HTTP (AWS's advice for SQS, as for the dead-letter queue in dead_letters.tf).
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.command_queue_arns[each.key]]

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

  statement {
    sid       = "AllowTrustedSenders"
    actions   = ["sqs:SendMessage"]
    resources = [local.command_queue_arns[each.key]]

    principals {
      type        = "AWS"
      identifiers = local.command_senders[each.key]
    }
  }

  # Nobody else may send, whatever their own IAM policies allow: a command that changes or
  # deletes a resource must come from the module or from a principal named in command_principals.
  statement {
    sid       = "DenyEveryoneElse"
    effect    = "Deny"
    actions   = ["sqs:SendMessage"]
    resources = [local.command_queue_arns[each.key]]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "ArnNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.command_senders[each.key]
    }
  }

  lifecycle {
    precondition {
      condition     = alltrue([for p in var.command_principals : split(":", p)[4] == local.account_id])
      error_message = "Every command_principals entry must be in this deployment's account (${local.account_id}): commands from another account are never acted on. Not in it: ${join(", ", [for p in var.command_principals : p if split(":", p)[4] != local.account_id])}."
    }
  }
}

resource "aws_sqs_queue_policy" "commands" {
  for_each = local.command_queue_names

  queue_url = aws_sqs_queue.commands[each.key].id
  policy    = data.aws_iam_policy_document.commands[each.key].json

  # SQS checks that the role principals exist.
  depends_on = [module.monitor, module.action]
}

resource "aws_lambda_event_source_mapping" "commands" {
  for_each = local.command_queue_names

  event_source_arn = aws_sqs_queue.commands[each.key].arn
  function_name    = module.action[each.key].function_arn
  # One command per invocation: a failure retries that command alone.
  batch_size = 1
}
