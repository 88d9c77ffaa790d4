# Every validation rule of variables.tf has one failing case here, named <variable>_rule<N> for
# its N-th validation block (tests/test_terraform_native.py checks that, and that each case's
# error is the message written for that rule). Plans only, against mock providers.

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "archive" {}

test {
  # Independent plans: run them side by side (each needs its own state_key).
  parallel = true
}

# These run against the staged module (tools/localaws/staging.py: lambda_runtime defaults to
# python3.8, the newest runtime the aws provider 3.39 accepts; its schema still validates
# arguments). tests/test_terraform_native.py replays every case against the real variables.tf.

run "name_rule1" {
  command   = plan
  state_key = "name_rule1"

  variables {
    name = "1-starts-with-a-digit"
  }

  expect_failures = [var.name]
}

run "campaign_arns_rule1" {
  command   = plan
  state_key = "campaign_arns_rule1"

  variables {
    campaign_arns = ["all", "arn:aws:personalize:us-east-1:123456789012:campaign/shop"]
  }

  expect_failures = [var.campaign_arns]
}

run "campaign_arns_rule2" {
  command   = plan
  state_key = "campaign_arns_rule2"

  variables {
    campaign_arns = [for i in range(31) : "arn:aws:personalize:us-east-1:123456789012:campaign/c${i}"]
  }

  expect_failures = [var.campaign_arns]
}

run "recommender_arns_rule1" {
  command   = plan
  state_key = "recommender_arns_rule1"

  variables {
    recommender_arns = ["arn:aws:personalize:us-east-1:123456789012:campaign/not-a-recommender"]
  }

  expect_failures = [var.recommender_arns]
}

run "recommender_arns_rule2" {
  command   = plan
  state_key = "recommender_arns_rule2"

  variables {
    recommender_arns = [for i in range(31) : "arn:aws:personalize:us-east-1:123456789012:recommender/r${i}"]
  }

  expect_failures = [var.recommender_arns]
}

run "regions_rule1" {
  command   = plan
  state_key = "regions_rule1"

  variables {
    regions = ["us-east-1", "Europe (Ireland)"]
  }

  expect_failures = [var.regions]
}

run "regions_rule2" {
  command   = plan
  state_key = "regions_rule2"

  variables {
    regions = ["us-east-1", "eu-west-1", "us-east-1"]
  }

  expect_failures = [var.regions]
}

run "lambda_runtime_rule1" {
  command   = plan
  state_key = "lambda_runtime_rule1"

  variables {
    # Lambda blocks creating functions with it (checked 2026-12-02).
    lambda_runtime = "python3.10"
  }

  expect_failures = [var.lambda_runtime]
}

run "monitor_schedule_expression_rule1" {
  command   = plan
  state_key = "monitor_schedule_expression_rule1"

  variables {
    monitor_schedule_expression = "every 5 minutes"
  }

  expect_failures = [var.monitor_schedule_expression]
}

run "monitor_timeout_rule1" {
  command   = plan
  state_key = "monitor_timeout_rule1"

  variables {
    monitor_timeout = 300
  }

  expect_failures = [var.monitor_timeout]
}

run "monitor_memory_size_rule1" {
  command   = plan
  state_key = "monitor_memory_size_rule1"

  variables {
    monitor_memory_size = 64
  }

  expect_failures = [var.monitor_memory_size]
}

run "log_retention_days_rule1" {
  command   = plan
  state_key = "log_retention_days_rule1"

  variables {
    log_retention_days = 2
  }

  expect_failures = [var.log_retention_days]
}

run "log_level_rule1" {
  command   = plan
  state_key = "log_level_rule1"

  variables {
    log_level = "debug"
  }

  expect_failures = [var.log_level]
}

run "derived_metrics_rule1" {
  command   = plan
  state_key = "derived_metrics_rule1"

  variables {
    derived_metrics = "math"
  }

  expect_failures = [var.derived_metrics]
}

run "kms_key_arn_rule1" {
  command   = plan
  state_key = "kms_key_arn_rule1"

  variables {
    kms_key_arn = "alias/personalize-monitor"
  }

  expect_failures = [var.kms_key_arn]
}

run "permissions_boundary_arn_rule1" {
  command   = plan
  state_key = "permissions_boundary_arn_rule1"

  variables {
    permissions_boundary_arn = "arn:aws:iam::123456789012:role/boundary"
  }

  expect_failures = [var.permissions_boundary_arn]
}

run "iam_role_path_rule1" {
  command   = plan
  state_key = "iam_role_path_rule1"

  variables {
    iam_role_path = "service-roles"
  }

  expect_failures = [var.iam_role_path]
}

run "utilization_threshold_percent_rule1" {
  command   = plan
  state_key = "utilization_threshold_percent_rule1"

  variables {
    utilization_threshold_percent = 1001
  }

  expect_failures = [var.utilization_threshold_percent]
}

run "alarm_writes_per_second_rule1" {
  command   = plan
  state_key = "alarm_writes_per_second_rule1"

  variables {
    alarm_writes_per_second = 0.1
  }

  expect_failures = [var.alarm_writes_per_second]
}

run "describe_rate_per_second_rule1" {
  command   = plan
  state_key = "describe_rate_per_second_rule1"

  variables {
    describe_rate_per_second = 0
  }

  expect_failures = [var.describe_rate_per_second]
}

run "idle_threshold_hours_rule1" {
  command   = plan
  state_key = "idle_threshold_hours_rule1"

  variables {
    idle_threshold_hours = 1.5
  }

  expect_failures = [var.idle_threshold_hours]
}

run "sns_topic_arn_rule1" {
  command   = plan
  state_key = "sns_topic_arn_rule1"

  variables {
    sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts.fifo"
  }

  expect_failures = [var.sns_topic_arn]
}

run "notification_emails_rule1" {
  command   = plan
  state_key = "notification_emails_rule1"

  variables {
    notification_emails = ["ops@example.com", "not-an-address"]
  }

  expect_failures = [var.notification_emails]
}

run "notification_emails_rule2" {
  command   = plan
  state_key = "notification_emails_rule2"

  variables {
    notification_emails = ["ops@example.com", "ops@example.com"]
  }

  expect_failures = [var.notification_emails]
}

run "notification_subscriptions_rule1" {
  command   = plan
  state_key = "notification_subscriptions_rule1"

  variables {
    notification_subscriptions = [{ protocol = "smtp", endpoint = "ops@example.com" }]
  }

  expect_failures = [var.notification_subscriptions]
}

run "notification_subscriptions_rule2" {
  command   = plan
  state_key = "notification_subscriptions_rule2"

  variables {
    notification_subscriptions = [{ protocol = "https", endpoint = "http://hooks.example.com/pm" }]
  }

  expect_failures = [var.notification_subscriptions]
}

run "notification_subscriptions_rule3" {
  command   = plan
  state_key = "notification_subscriptions_rule3"

  variables {
    notification_subscriptions = [{ protocol = "firehose", endpoint = "arn:aws:firehose:us-east-1:123456789012:deliverystream/pm" }]
  }

  expect_failures = [var.notification_subscriptions]
}

run "notification_subscriptions_rule4" {
  command   = plan
  state_key = "notification_subscriptions_rule4"

  variables {
    notification_subscriptions = [{ protocol = "sqs", endpoint = "arn:aws:sqs:us-east-1:123456789012:pm" }, { protocol = "sqs", endpoint = "arn:aws:sqs:us-east-1:123456789012:pm" }]
  }

  expect_failures = [var.notification_subscriptions]
}

run "cleanup_role_arn_rule1" {
  command   = plan
  state_key = "cleanup_role_arn_rule1"

  variables {
    cleanup_role_arn = "arn:aws:iam::123456789012:user/not-a-role"
  }

  expect_failures = [var.cleanup_role_arn]
}

run "cleanup_python_rule1" {
  command   = plan
  state_key = "cleanup_python_rule1"

  variables {
    cleanup_python = "python3; rm -rf /"
  }

  expect_failures = [var.cleanup_python]
}

run "command_principals_rule1" {
  command   = plan
  state_key = "command_principals_rule1"

  variables {
    command_principals = ["arn:aws:sts::123456789012:assumed-role/ml-ops/session"]
  }

  expect_failures = [var.command_principals]
}

run "command_principals_rule2" {
  command   = plan
  state_key = "command_principals_rule2"

  variables {
    command_principals = ["arn:aws:iam::123456789012:role/ml-ops", "arn:aws:iam::123456789012:role/ml-ops"]
  }

  expect_failures = [var.command_principals]
}

run "protection_tag_key_rule1" {
  command   = plan
  state_key = "protection_tag_key_rule1"

  variables {
    protection_tag_key = "aws:protect"
  }

  expect_failures = [var.protection_tag_key]
}

run "campaign_price_per_tps_hour_rule1" {
  command   = plan
  state_key = "campaign_price_per_tps_hour_rule1"

  variables {
    campaign_price_per_tps_hour = -0.2
  }

  expect_failures = [var.campaign_price_per_tps_hour]
}

run "recommender_price_per_rps_hour_rule1" {
  command   = plan
  state_key = "recommender_price_per_rps_hour_rule1"

  variables {
    recommender_price_per_rps_hour = 1000.5
  }

  expect_failures = [var.recommender_price_per_rps_hour]
}

run "scheduled_capacity_rule1" {
  command   = plan
  state_key = "scheduled_capacity_rule1"

  variables {
    scheduled_capacity = [{ arn = "arn:aws:personalize:us-east-1:123456789012:solution/shop", schedule_expression = "cron(0 7 * * ? *)", min_tps = 5 }]
  }

  expect_failures = [var.scheduled_capacity]
}

run "scheduled_capacity_rule2" {
  command   = plan
  state_key = "scheduled_capacity_rule2"

  variables {
    scheduled_capacity = [{ arn = "arn:aws:personalize:us-east-1:123456789012:campaign/shop", schedule_expression = "at 7am", min_tps = 5 }]
  }

  expect_failures = [var.scheduled_capacity]
}

run "scheduled_capacity_rule3" {
  command   = plan
  state_key = "scheduled_capacity_rule3"

  variables {
    scheduled_capacity = [{ arn = "arn:aws:personalize:us-east-1:123456789012:campaign/shop", schedule_expression = "cron(0 7 * * ? *)", min_tps = 2.5 }]
  }

  expect_failures = [var.scheduled_capacity]
}

run "scheduled_capacity_rule4" {
  command   = plan
  state_key = "scheduled_capacity_rule4"

  variables {
    scheduled_capacity = [{ arn = "arn:aws:personalize:us-east-1:123456789012:campaign/shop", schedule_expression = "cron(0 7 * * ? *)", min_tps = 5, description = join("", [for i in range(201) : "x"]) }]
  }

  expect_failures = [var.scheduled_capacity]
}

run "scheduled_capacity_rule5" {
  command   = plan
  state_key = "scheduled_capacity_rule5"

  variables {
    scheduled_capacity = [for i in range(2) : { arn = "arn:aws:personalize:us-east-1:123456789012:campaign/shop", schedule_expression = "cron(0 7 * * ? *)", min_tps = 5 }]
  }

  expect_failures = [var.scheduled_capacity]
}

run "dashboard_reserved_concurrency_rule1" {
  command   = plan
  state_key = "dashboard_reserved_concurrency_rule1"

  variables {
    dashboard_reserved_concurrency = 0
  }

  expect_failures = [var.dashboard_reserved_concurrency]
}

run "monitor_reserved_concurrency_rule1" {
  command   = plan
  state_key = "monitor_reserved_concurrency_rule1"

  variables {
    monitor_reserved_concurrency = 1.5
  }

  expect_failures = [var.monitor_reserved_concurrency]
}

run "cleanup_profile_rule1" {
  command   = plan
  state_key = "cleanup_profile_rule1"

  variables {
    cleanup_profile = "my profile"
  }

  expect_failures = [var.cleanup_profile]
}
