data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  log_group_name = "/aws/lambda/${var.function_name}"
  log_group_arn  = "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.id}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"
}

data "archive_file" "package" {
  type             = "zip"
  source_dir       = var.source_dir
  output_path      = "${var.build_dir}/${var.function_name}.zip"
  output_file_mode = "0644"
  excludes         = ["**/__pycache__/**", "**/*.pyc"]
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "logs" {
  source_policy_documents = [var.policy_json]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn}:*"]
  }

  # Asynchronous invocations that fail after their retries go to the dead-letter queue.
  dynamic "statement" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]

    content {
      sid       = "SendFailedEventsToDeadLetterQueue"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  # Sending to a queue encrypted with a customer managed key needs the key too.
  dynamic "statement" {
    for_each = var.dead_letter_queue_arn == null || var.dead_letter_queue_kms_key_arn == null ? [] : [var.dead_letter_queue_kms_key_arn]

    content {
      sid       = "EncryptFailedEventsForDeadLetterQueue"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.function_name
  path                 = var.iam_role_path
  description          = "Execution role of ${var.function_name}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
  tags                 = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = var.function_name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the caller's choice (var.log_retention_days, default 30 days): these are operational logs of the functions, not audit records.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Failed asynchronous invocations go to the dead-letter queue through the on-failure destination of aws_lambda_function_event_invoke_config below (and EventBridge's target dead_letter_config); the legacy function-level dead_letter_config would duplicate it.
  #checkov:skip=CKV_AWS_117:The functions call only public AWS APIs and reach nothing inside a VPC; a VPC would add NAT gateways or interface endpoints and their cost for no isolation gain.
  #checkov:skip=CKV_AWS_272:The package is built by Terraform from the module's own source (archive_file, no build step); code signing needs AWS Signer and S3-hosted signed artifacts, which the module does not assume.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not enabled by default (cost); every function logs structured JSON and the monitor publishes monitorErrors, alarmed with the Lambda Errors/Throttles metrics.
  function_name                  = var.function_name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  handler                        = var.handler
  runtime                        = var.runtime
  filename                       = data.archive_file.package.output_path
  source_code_hash               = data.archive_file.package.output_base64sha256
  timeout                        = var.timeout
  memory_size                    = var.memory_size
  reserved_concurrent_executions = var.reserved_concurrent_executions
  layers                         = var.layers
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  environment {
    variables = var.environment
  }

  # The log group must exist (with its retention) before the first invocation creates it.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count = var.async_max_retry_attempts == null && var.dead_letter_queue_arn == null ? 0 : 1

  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_max_retry_attempts
  maximum_event_age_in_seconds = var.async_max_event_age_seconds

  dynamic "destination_config" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]

    content {
      on_failure {
        destination = destination_config.value
      }
    }
  }
}

resource "aws_cloudwatch_event_rule" "this" {
  for_each = var.event_rules

  name                = "${var.function_name}-${each.key}"
  description         = each.value.description
  schedule_expression = each.value.schedule_expression
  event_pattern       = each.value.event_pattern
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = var.event_rules

  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "lambda"
  arn       = aws_lambda_function.this.arn
  input     = each.value.input

  retry_policy {
    maximum_retry_attempts       = var.event_target_max_retry_attempts
    maximum_event_age_in_seconds = var.event_target_max_event_age_seconds
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_queue_arn == null ? [] : [var.dead_letter_queue_arn]

    content {
      arn = dead_letter_config.value
    }
  }
}

resource "aws_lambda_permission" "events" {
  for_each = var.event_rules

  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}
