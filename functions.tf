################################################################################
# Functions: the shared layer (the personalize_monitor package, contract.json included) and the five
# Lambda functions built on it with modules/lambda-function - the monitor (every 5 minutes, measures
# and decides), the three action functions update_tps, delete_campaign and stop_recommender (fed by
# their command queues, commands.tf; by the scheduled_capacity schedules; and, opt-in, by the seed's
# command events on the default bus) and the dashboard function (hourly and on request). Their
# permissions are in iam.tf, their retries and dead letters in dead_letters.tf, the alarms on them
# in alarms.tf.
################################################################################

################################################################################
# Shared layer: the Personalize and CloudWatch logic every function imports
################################################################################

data "archive_file" "layer" {
  type             = "zip"
  source_dir       = "${path.module}/functions/layer"
  output_path      = "${local.build_dir}/layer.zip"
  output_file_mode = "0644"
  excludes         = ["**/__pycache__/**", "**/*.pyc"]
}

resource "aws_lambda_layer_version" "shared" {
  layer_name          = "${var.name}-shared"
  description         = "Personalize Monitor shared code (personalize_monitor package)"
  filename            = data.archive_file.layer.output_path
  source_code_hash    = data.archive_file.layer.output_base64sha256
  compatible_runtimes = [var.lambda_runtime]
}

locals {
  # Every Lambda function of the module by role (outputs, alarms.tf).
  functions = merge({ monitor = module.monitor }, module.action, var.create_dashboard ? { dashboard = module.dashboard[0] } : {})

  # Schedules keyed by a short digest of ARN + expression: stable when entries are reordered,
  # and short enough for the 64-character rule name "<name>-update-tps-s-<digest>".
  scheduled_capacity = {
    for s in var.scheduled_capacity : substr(sha1("${s.arn} ${s.schedule_expression}"), 0, 8) => merge(s, {
      description = s.description == null ? "" : s.description
    })
  }
  scheduled_capacity_arns = distinct([for s in var.scheduled_capacity : s.arn])

  # A scheduled ARN must be one the deployment may act on (Settings.in_scope in config.py).
  scheduled_out_of_scope = [
    for arn in local.scheduled_capacity_arns : arn
    if !(
      length(regexall(":campaign/", arn)) > 0
      ? (local.all_campaigns ? (contains(local.discovery_regions, split(":", arn)[3]) && split(":", arn)[4] == local.account_id) : contains(var.campaign_arns, arn))
      : (local.all_recommenders ? (contains(local.discovery_regions, split(":", arn)[3]) && split(":", arn)[4] == local.account_id) : contains(var.recommender_arns, arn))
    )
  ]

  # The automatic step-down leaves resources with schedules alone (their schedules own them).
  monitor_environment = merge(local.common_environment, {
    (local.contract.settings.scheduled_capacity_arns.env) = jsonencode(local.scheduled_capacity_arns)
  })

  # The seed's command events of each action function (acted on only with accept_default_bus_commands).
  command_pattern = {
    for role in local.action_roles : role => [for key in local.contract.functions[role].commands : local.contract.detail_types[key]]
  }

  # Lambda's advice for queues that trigger a function: a visibility timeout of six times its timeout.
  action_timeout = 60
}

################################################################################
# Monitor: every 5 minutes, discover and measure campaigns and recommenders
################################################################################

module "monitor" {
  source = "./modules/lambda-function"

  function_name = local.function_names.monitor
  description   = "Measures Personalize campaigns and recommenders every 5 minutes"
  source_dir    = "${path.module}/functions/monitor"
  handler       = "monitor.lambda_handler"
  timeout       = var.monitor_timeout
  memory_size   = var.monitor_memory_size
  # No reservation by default (var.monitor_reserved_concurrency): reserving fails in accounts with a
  # low concurrency quota, and overlapping runs are harmless (tests/e2e/test_concurrency.py).
  reserved_concurrent_executions = var.monitor_reserved_concurrency
  layers                         = [aws_lambda_layer_version.shared.arn]
  policy_json                    = data.aws_iam_policy_document.monitor_combined.json
  environment                    = local.monitor_environment

  event_rules = {
    schedule = {
      description         = "Runs the Personalize monitor"
      schedule_expression = var.monitor_schedule_expression
    }
  }

  build_dir                = local.function_defaults.build_dir
  runtime                  = local.function_defaults.runtime
  log_retention_days       = local.function_defaults.log_retention_days
  kms_key_arn              = local.function_defaults.kms_key_arn
  permissions_boundary_arn = local.function_defaults.permissions_boundary_arn
  iam_role_path            = local.function_defaults.iam_role_path
  tags                     = var.tags
}

################################################################################
# Action functions: update_tps, delete_campaign, stop_recommender
################################################################################

locals {
  # The seed's behaviour, opt-in: command events from this account's default bus (the pattern
  # names the account, and the functions check it again).
  default_bus_command_rules = {
    for role, types in local.command_pattern : role => {
      for key in ["command"] : key => {
        description   = "${join(", ", types)} events from this account's default bus (accept_default_bus_commands) to the ${replace(role, "_", "-")} function"
        event_pattern = jsonencode({ source = [local.contract.event_source], "detail-type" = types, account = [local.account_id] })
      } if var.accept_default_bus_commands
    }
  }

  # What differs between the three action functions; module "action" below builds each.
  action_function_specs = {
    update_tps = {
      description = "Sets the minimum TPS/RPS of a Personalize campaign or recommender (step-down commands, scheduled capacity)"
      policy_json = data.aws_iam_policy_document.update_tps.json
      event_rules = merge(
        local.default_bus_command_rules.update_tps,
        {
          for key, s in local.scheduled_capacity : "s-${key}" => {
            description         = substr("Scheduled capacity: min ${s.min_tps} for ${split("/", s.arn)[1]} at ${s.schedule_expression}. ${s.description}", 0, 512)
            schedule_expression = s.schedule_expression
            input = jsonencode({
              ARN       = s.arn
              NewMinTPS = s.min_tps
              Reason    = "scheduled_capacity ${s.schedule_expression}${s.description == "" ? "" : ": ${s.description}"}"
            })
          }
        },
      )
    }
    delete_campaign = {
      description = "Deletes an idle Personalize campaign when every idle condition holds (auto_delete_or_stop_idle_resources)"
      policy_json = data.aws_iam_policy_document.delete_campaign.json
      event_rules = local.default_bus_command_rules.delete_campaign
    }
    stop_recommender = {
      description = "Stops an idle Personalize recommender when every idle condition holds (auto_delete_or_stop_idle_resources)"
      policy_json = data.aws_iam_policy_document.stop_recommender.json
      event_rules = local.default_bus_command_rules.stop_recommender
    }
  }
}

module "action" {
  source   = "./modules/lambda-function"
  for_each = local.action_function_specs

  function_name = local.function_names[each.key]
  description   = each.value.description
  source_dir    = "${path.module}/functions/${each.key}"
  handler       = "${each.key}.lambda_handler"
  timeout       = local.action_timeout
  memory_size   = 256
  layers        = [aws_lambda_layer_version.shared.arn]
  policy_json   = each.value.policy_json
  environment   = local.common_environment
  event_rules   = each.value.event_rules

  build_dir                = local.function_defaults.build_dir
  runtime                  = local.function_defaults.runtime
  log_retention_days       = local.function_defaults.log_retention_days
  kms_key_arn              = local.function_defaults.kms_key_arn
  permissions_boundary_arn = local.function_defaults.permissions_boundary_arn
  iam_role_path            = local.function_defaults.iam_role_path
  tags                     = var.tags

  # Retries and the dead-letter queue (dead_letters.tf).
  dead_letter_queue_arn              = local.reliable_delivery.dead_letter_queue_arn
  dead_letter_queue_kms_key_arn      = local.reliable_delivery.dead_letter_queue_kms_key_arn
  async_max_retry_attempts           = local.reliable_delivery.async_max_retry_attempts
  async_max_event_age_seconds        = local.reliable_delivery.async_max_event_age_seconds
  event_target_max_retry_attempts    = local.reliable_delivery.event_target_max_retry_attempts
  event_target_max_event_age_seconds = local.reliable_delivery.event_target_max_event_age_seconds
}

# 0.1.0 declared one module block per action function.
moved {
  from = module.update_tps
  to   = module.action["update_tps"]
}

moved {
  from = module.delete_campaign
  to   = module.action["delete_campaign"]
}

moved {
  from = module.stop_recommender
  to   = module.action["stop_recommender"]
}

################################################################################
# Dashboard function: rebuilds the dashboard pages (dashboard.tf) hourly and on request
################################################################################

module "dashboard" {
  source = "./modules/lambda-function"
  count  = var.create_dashboard ? 1 : 0

  function_name = local.function_names.dashboard
  description   = "Builds the Personalize Monitor CloudWatch dashboard"
  source_dir    = "${path.module}/functions/dashboard"
  handler       = "dashboard.lambda_handler"
  # A cold container describes every monitored resource at the configured rate.
  timeout = 900
  # No reservation by default (var.dashboard_reserved_concurrency): overlapping builds write the
  # same pages, and reserving fails in accounts with a low concurrency quota.
  reserved_concurrent_executions = var.dashboard_reserved_concurrency
  memory_size                    = 256
  layers                         = [aws_lambda_layer_version.shared.arn]
  policy_json                    = data.aws_iam_policy_document.dashboard[0].json
  environment                    = local.common_environment

  event_rules = {
    schedule = {
      description         = "Rebuilds the Personalize Monitor dashboard hourly"
      schedule_expression = "rate(1 hour)"
    }
    build = {
      description = "Rebuilds the Personalize Monitor dashboard on request"
      # Only this account's own requests (the monitor's and the action functions').
      event_pattern = jsonencode({
        source        = [local.contract.event_source]
        "detail-type" = [local.contract.detail_types.build_dashboard]
        account       = [local.account_id]
      })
    }
  }

  build_dir                = local.function_defaults.build_dir
  runtime                  = local.function_defaults.runtime
  log_retention_days       = local.function_defaults.log_retention_days
  kms_key_arn              = local.function_defaults.kms_key_arn
  permissions_boundary_arn = local.function_defaults.permissions_boundary_arn
  iam_role_path            = local.function_defaults.iam_role_path
  tags                     = var.tags

  # Retries and the dead-letter queue (dead_letters.tf).
  dead_letter_queue_arn              = local.reliable_delivery.dead_letter_queue_arn
  dead_letter_queue_kms_key_arn      = local.reliable_delivery.dead_letter_queue_kms_key_arn
  async_max_retry_attempts           = local.reliable_delivery.async_max_retry_attempts
  async_max_event_age_seconds        = local.reliable_delivery.async_max_event_age_seconds
  event_target_max_retry_attempts    = local.reliable_delivery.event_target_max_retry_attempts
  event_target_max_event_age_seconds = local.reliable_delivery.event_target_max_event_age_seconds
}
