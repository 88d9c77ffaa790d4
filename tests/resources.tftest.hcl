# Conditional resources: what the create_* switches, sns_topic_arn and the other settings that add
# or remove resources plan. Plans only, against mock providers (no AWS).

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "archive" {}

test {
  parallel = true
}

run "defaults" {
  command   = plan
  state_key = "defaults"

  assert {
    condition     = length(aws_sns_topic.notifications) == 1 && aws_sns_topic.notifications[0].name == "PersonalizeMonitorNotifications"
    error_message = "With sns_topic_arn = null the module creates the topic PersonalizeMonitorNotifications."
  }

  assert {
    condition     = length(aws_sns_topic_policy.notifications) == 1 && length(data.aws_iam_policy_document.topic) == 1
    error_message = "The module's own topic gets the module's topic policy."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.notifications) == 0
    error_message = "No subscription without notification_emails / notification_subscriptions."
  }

  assert {
    condition     = length(module.dashboard) == 1 && length(aws_cloudwatch_dashboard.main) == 1 && aws_cloudwatch_dashboard.main[0].dashboard_name == "Amazon-Personalize-Monitor"
    error_message = "create_dashboard defaults to true: the dashboard function and the Amazon-Personalize-Monitor dashboard."
  }

  assert {
    condition     = toset(keys(output.function_names)) == toset(["monitor", "update_tps", "delete_campaign", "stop_recommender", "dashboard"])
    error_message = "Default functions: monitor, the three action functions and the dashboard function."
  }

  assert {
    condition     = output.dashboard_names == tolist(["Amazon-Personalize-Monitor"])
    error_message = "dashboard_names lists the Terraform-owned dashboard."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.function_errors) == 5 && length(aws_cloudwatch_metric_alarm.function_throttles) == 5
    error_message = "Every function gets an Errors and a Throttles alarm."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.monitor_errors.treat_missing_data == "breaching"
    error_message = "With the 5-minute schedule a missing monitorErrors datapoint means the monitor did not run."
  }

  assert {
    condition     = jsondecode(terraform_data.teardown.input.config).enabled == true
    error_message = "cleanup_on_destroy defaults to true."
  }

  assert {
    condition     = output.monitored_regions == tolist(["us-east-1"])
    error_message = "regions = [] monitors the provider's region."
  }

  assert {
    condition     = length(module.action["update_tps"].rule_arns) == 0 && length(module.action["delete_campaign"].rule_arns) == 0 && length(module.action["stop_recommender"].rule_arns) == 0
    error_message = "By default no rule listens to the default bus for commands (accept_default_bus_commands = false), and without scheduled_capacity update_tps has no schedule."
  }

  assert {
    condition     = toset(keys(aws_sqs_queue.commands)) == toset(["update_tps", "delete_campaign", "stop_recommender"]) && aws_sqs_queue.commands["delete_campaign"].name == "PersonalizeMonitor-delete-campaign-commands"
    error_message = "Each action function has its command queue <function name>-commands."
  }

  assert {
    condition     = alltrue([for role, m in aws_lambda_event_source_mapping.commands : m.batch_size == 1])
    error_message = "Each command queue feeds its function one command at a time."
  }

  assert {
    condition     = local.command_senders["delete_campaign"] == tolist(["arn:aws:iam::123456789012:role/PersonalizeMonitor-monitor", "arn:aws:iam::123456789012:role/PersonalizeMonitor-delete-campaign"]) && local.command_senders["update_tps"] == tolist(["arn:aws:iam::123456789012:role/PersonalizeMonitor-monitor"])
    error_message = "Only the monitor (and a retiring function, to itself) may send commands by default."
  }
}

run "command_principals_and_default_bus_commands" {
  command   = plan
  state_key = "command_principals_and_default_bus_commands"

  variables {
    command_principals          = ["arn:aws:iam::123456789012:role/ml-ops"]
    accept_default_bus_commands = true
    iam_role_path               = "/pm/"
  }

  assert {
    condition     = alltrue([for role in ["update_tps", "delete_campaign", "stop_recommender"] : contains(local.command_senders[role], "arn:aws:iam::123456789012:role/ml-ops") && contains(local.command_senders[role], "arn:aws:iam::123456789012:role/pm/PersonalizeMonitor-monitor")])
    error_message = "command_principals may send to every command queue, besides the monitor (role ARNs carry iam_role_path)."
  }

  assert {
    condition     = alltrue([for role in ["update_tps", "delete_campaign", "stop_recommender"] : jsondecode(local.action_function_specs[role].event_rules["command"].event_pattern).account == ["123456789012"]])
    error_message = "With accept_default_bus_commands each action function gets its command rule, for this account's events only."
  }
}

run "command_principals_in_another_account" {
  command   = plan
  state_key = "command_principals_in_another_account"

  variables {
    command_principals = ["arn:aws:iam::210987654321:role/ml-ops"]
  }

  expect_failures = [data.aws_iam_policy_document.commands]
}

run "existing_topic" {
  command   = plan
  state_key = "existing_topic"

  variables {
    sns_topic_arn       = "arn:aws:sns:us-east-1:123456789012:ml-alerts"
    notification_emails = ["ops@example.com"]
  }

  assert {
    condition     = length(aws_sns_topic.notifications) == 0 && length(aws_sns_topic_policy.notifications) == 0 && length(data.aws_iam_policy_document.topic) == 0
    error_message = "With sns_topic_arn the module creates no topic and leaves the topic's policy alone."
  }

  assert {
    condition     = output.notification_topic_arn == "arn:aws:sns:us-east-1:123456789012:ml-alerts"
    error_message = "notification_topic_arn is the given topic."
  }

  assert {
    condition     = aws_sns_topic_subscription.notifications["email ops@example.com"].topic_arn == "arn:aws:sns:us-east-1:123456789012:ml-alerts"
    error_message = "Subscriptions go to the given topic."
  }

  assert {
    condition     = local.common_environment.PM_NOTIFICATION_TOPIC_ARN == "arn:aws:sns:us-east-1:123456789012:ml-alerts"
    error_message = "The functions write their notifications to the given topic."
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.function_errors : a.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:ml-alerts"])])
    error_message = "The module's alarms notify the given topic."
  }
}

run "existing_topic_in_another_region" {
  command   = plan
  state_key = "existing_topic_in_another_region"

  variables {
    sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:ml-alerts"
  }

  expect_failures = [data.aws_iam_policy_document.action_common]
}

run "no_dashboard" {
  command   = plan
  state_key = "no_dashboard"

  variables {
    create_dashboard = false
  }

  assert {
    condition     = length(module.dashboard) == 0 && length(aws_cloudwatch_dashboard.main) == 0
    error_message = "create_dashboard = false creates neither the dashboard function nor the dashboard."
  }

  assert {
    condition     = !contains(keys(output.function_names), "dashboard") && length(output.dashboard_names) == 0
    error_message = "No dashboard function and no dashboard name in the outputs."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.monitor_dashboard) == 0 && length(data.aws_iam_policy_document.dashboard) == 0
    error_message = "No dashboard permissions for anyone."
  }

  assert {
    condition     = module.monitor.function_name == "PersonalizeMonitor-monitor" && length(aws_cloudwatch_metric_alarm.function_errors) == 4
    error_message = "The monitor and the action functions stay."
  }
}

run "subscriptions" {
  command   = plan
  state_key = "subscriptions"

  variables {
    notification_emails = ["ops@example.com", "ml@example.com"]
    notification_subscriptions = [
      { protocol = "https", endpoint = "https://hooks.example.com/personalize" },
      { protocol = "sqs", endpoint = "arn:aws:sqs:us-east-1:123456789012:personalize-events" },
    ]
  }

  assert {
    condition = toset(keys(aws_sns_topic_subscription.notifications)) == toset([
      "email ops@example.com", "email ml@example.com",
      "https https://hooks.example.com/personalize", "sqs arn:aws:sqs:us-east-1:123456789012:personalize-events",
    ])
    error_message = "One subscription per email address and per other subscription."
  }

  assert {
    condition     = aws_sns_topic_subscription.notifications["sqs arn:aws:sqs:us-east-1:123456789012:personalize-events"].protocol == "sqs"
    error_message = "The protocol of each subscription is kept."
  }
}

run "named_instance" {
  command   = plan
  state_key = "named_instance"

  variables {
    name                        = "PmStaging"
    monitor_schedule_expression = "rate(1 day)"
    cleanup_on_destroy          = false
    tags                        = { Team = "ml-platform" }
  }

  assert {
    condition     = aws_sns_topic.notifications[0].name == "PmStaging-Notifications" && aws_cloudwatch_dashboard.main[0].dashboard_name == "PmStaging-Dashboard"
    error_message = "A non-default name prefixes the topic and the dashboard."
  }

  assert {
    condition     = alltrue([for role, name in output.function_names : startswith(name, "PmStaging-")])
    error_message = "Every function name starts with the name prefix."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.monitor_errors.treat_missing_data == "notBreaching"
    error_message = "With a paused schedule missing monitorErrors datapoints do not alarm."
  }

  assert {
    condition     = jsondecode(terraform_data.teardown.input.config).enabled == false
    error_message = "cleanup_on_destroy = false disables the destroy-time cleanup."
  }

  assert {
    condition     = aws_sns_topic.notifications[0].tags == tomap({ Team = "ml-platform" }) && aws_cloudwatch_metric_alarm.monitor_errors.tags == tomap({ Team = "ml-platform" })
    error_message = "Tags reach the resources the module creates."
  }
}

run "encrypted" {
  command   = plan
  state_key = "encrypted"

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = aws_sns_topic.notifications[0].kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    error_message = "kms_key_arn encrypts the notification topic."
  }
}

run "scheduled_capacity" {
  command   = plan
  state_key = "scheduled_capacity"

  variables {
    scheduled_capacity = [
      { arn = "arn:aws:personalize:us-east-1:123456789012:campaign/shop", schedule_expression = "cron(30 7 ? * MON-FRI *)", min_tps = 20 },
      { arn = "arn:aws:personalize:us-east-1:123456789012:campaign/shop", schedule_expression = "cron(0 20 ? * MON-FRI *)", min_tps = 2 },
    ]
  }

  assert {
    condition     = length(module.action["update_tps"].rule_arns) == 2 && length([for k in keys(module.action["update_tps"].rule_arns) : k if startswith(k, "s-")]) == 2
    error_message = "Each scheduled_capacity entry adds one schedule rule to the update_tps function."
  }
}

run "scheduled_capacity_out_of_scope" {
  command   = plan
  state_key = "scheduled_capacity_out_of_scope"

  variables {
    campaign_arns      = ["arn:aws:personalize:us-east-1:123456789012:campaign/listed"]
    scheduled_capacity = [{ arn = "arn:aws:personalize:us-east-1:123456789012:campaign/not-listed", schedule_expression = "rate(1 day)", min_tps = 2 }]
  }

  expect_failures = [data.aws_iam_policy_document.update_tps]
}

run "nothing_to_monitor" {
  command   = plan
  state_key = "nothing_to_monitor"

  variables {
    campaign_arns    = []
    recommender_arns = []
  }

  expect_failures = [data.aws_iam_policy_document.discovery]
}

run "explicit_arns_regions" {
  command   = plan
  state_key = "explicit_arns_regions"

  variables {
    campaign_arns    = ["arn:aws:personalize:eu-west-1:123456789012:campaign/eu-shop"]
    recommender_arns = ["arn:aws:personalize:ap-southeast-2:123456789012:recommender/au-picks"]
  }

  assert {
    condition     = toset(output.monitored_regions) == toset(["eu-west-1", "ap-southeast-2"])
    error_message = "Explicit ARNs alone decide the monitored regions (no discovery in the provider's region)."
  }
}

run "derived_metrics_default_environment" {
  command   = plan
  state_key = "derived_metrics_default_environment"

  assert {
    condition     = local.common_environment.PM_PUBLISH_DERIVED_METRICS == "true" && !contains(keys(local.common_environment), "PM_DERIVED_METRICS")
    error_message = "derived_metrics null with publish_derived_metrics true: the environment is the one existing deployments have (stored, no PM_DERIVED_METRICS)."
  }
}

run "derived_metrics_follows_publish_false" {
  command   = plan
  state_key = "derived_metrics_follows_publish_false"

  variables {
    publish_derived_metrics = false
  }

  assert {
    condition     = local.derived_metrics == "none" && local.common_environment.PM_PUBLISH_DERIVED_METRICS == "false" && !contains(keys(local.common_environment), "PM_DERIVED_METRICS")
    error_message = "publish_derived_metrics = false alone is \"none\", sent as before."
  }
}

run "derived_metrics_metric_math" {
  command   = plan
  state_key = "derived_metrics_metric_math"

  variables {
    derived_metrics = "metric_math"
  }

  assert {
    condition     = local.common_environment.PM_DERIVED_METRICS == "metric_math" && local.common_environment.PM_PUBLISH_DERIVED_METRICS == "false" && local.monitor_environment.PM_DERIVED_METRICS == "metric_math"
    error_message = "metric_math reaches every function (and the derived metrics are not stored)."
  }
}

run "derived_metrics_stored_contradicts_publish_false" {
  command   = plan
  state_key = "derived_metrics_stored_contradicts_publish_false"

  variables {
    derived_metrics         = "stored"
    publish_derived_metrics = false
  }

  expect_failures = [data.aws_partition.settings_check]
}

run "tuning_settings" {
  command   = plan
  state_key = "tuning_settings"

  variables {
    log_level                = "DEBUG"
    describe_rate_per_second = 2.5
  }

  assert {
    condition     = local.common_environment.PM_LOG_LEVEL == "DEBUG" && local.common_environment.PM_DESCRIBE_RATE_PER_SECOND == "2.5"
    error_message = "log_level and describe_rate_per_second reach every function's environment when set."
  }

  assert {
    condition     = local.monitor_environment.PM_LOG_LEVEL == "DEBUG"
    error_message = "The monitor gets them too."
  }
}

run "tuning_settings_default" {
  command   = plan
  state_key = "tuning_settings_default"

  assert {
    condition     = !contains(keys(local.common_environment), "PM_LOG_LEVEL") && !contains(keys(local.common_environment), "PM_DESCRIBE_RATE_PER_SECOND")
    error_message = "At their defaults (the functions' own) they are not passed: existing deployments plan no change and the 4 KB environment keeps its room."
  }
}
