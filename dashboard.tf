################################################################################
# Dashboard (issue 5): the dashboard function, its triggers, the Terraform-owned page 1
################################################################################

locals {
  dashboard_name = var.name == "PersonalizeMonitor" ? "Amazon-Personalize-Monitor" : "${var.name}-Dashboard"
  # Every page of the dashboard: page 1 is this name, the function adds <name>-2, <name>-3, ...
  dashboard_arn_pattern = "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.dashboard_name}*"

  dashboard_functions = var.create_dashboard ? { dashboard = module.dashboard[0] } : {}

  # The monitor reads the deployed pages once per container and asks for a rebuild when the
  # monitored set changes (personalize_monitor.dashboard.request_rebuild_on_change).
  monitor_dashboard_policy_json = var.create_dashboard ? data.aws_iam_policy_document.monitor_dashboard[0].json : ""

  # Metrics Insights queries ranking the whole fleet (no resource list needed; the same text
  # as personalize_monitor.dashboard.least_utilized_query).
  least_utilized_queries = {
    campaigns    = "SELECT AVG(campaignUtilization) FROM SCHEMA(\"PersonalizeMonitor\", CampaignArn) GROUP BY CampaignArn ORDER BY AVG() ASC LIMIT 10"
    recommenders = "SELECT AVG(recommenderUtilization) FROM SCHEMA(\"PersonalizeMonitor\", RecommenderArn) GROUP BY RecommenderArn ORDER BY AVG() ASC LIMIT 10"
  }

  # Page 1 as Terraform creates it: useful before the function's first build, because every
  # graph is a SEARCH expression or a Metrics Insights query that needs no resource list.
  # The function replaces it (see lifecycle below) within minutes of the first monitor run.
  dashboard_initial_widgets = concat(
    [
      {
        type = "text", x = 0, y = 0, width = 24, height = 2
        properties = {
          markdown = "# Amazon Personalize Monitor\nFleet-wide view created by Terraform. The ${var.name}-dashboard function replaces it with per-dataset-group graphs within minutes of the monitor's first run, and rebuilds it hourly and whenever the monitored resources change."
        }
      },
      {
        type = "metric", x = 0, y = 2, width = 6, height = 6
        properties = {
          title     = "Monitored resources / monitor errors", region = local.home_region, view = "singleValue"
          sparkline = true, stat = "Average", period = 300
          metrics = [
            ["PersonalizeMonitor", "monitoredResourceCount", { label = "Monitored resources", stat = "Maximum" }],
            ["PersonalizeMonitor", "monitorErrors", { label = "Monitor errors (5 min)", stat = "Sum" }],
          ]
        }
      },
    ],
    [
      for i, kind in ["campaigns", "recommenders"] : {
        type = "metric", x = 6 + 9 * i, y = 2, width = 9, height = 6
        properties = {
          title   = "Least-utilized ${kind}, whole fleet (average % of provisioned)"
          region  = local.home_region, view = "table", stat = "Average", period = 300
          table   = { summaryColumns = ["AVG", "MIN"], showTimeSeriesData = false, stickySummary = true, layout = "horizontal" }
          metrics = [[{ expression = local.least_utilized_queries[kind], label = "Utilization %", id = "q${substr(kind, 0, 1)}" }]]
        }
      }
    ],
    [
      for i, kind in ["Campaign", "Recommender"] : {
        type = "metric", x = 12 * i, y = 8, width = 12, height = 6
        properties = {
          title  = "${kind} utilization (% of provisioned, all)"
          region = local.home_region, view = "timeSeries", stacked = false, stat = "Average", period = 300
          metrics = [[{
            expression = "SEARCH('{PersonalizeMonitor,${kind}Arn} MetricName=\"${lower(kind)}Utilization\"', 'Average', 300)"
            id         = "s${lower(substr(kind, 0, 1))}"
          }]]
        }
      }
    ],
    [
      for i, region in local.monitored_regions : {
        type = "metric", x = 12 * (i % 2), y = 14 + 6 * floor(i / 2), width = 12, height = 6
        properties = {
          title  = "Request latency (ms), ${region}"
          region = region, view = "timeSeries", stacked = false, stat = "Average", period = 300
          metrics = [
            [{ expression = "SEARCH('{AWS/Personalize,CampaignArn} MetricName=\"GetRecommendationsLatency\"', 'Average', 300)", id = "c1" }],
            [{ expression = "SEARCH('{AWS/Personalize,CampaignArn} MetricName=\"GetPersonalizedRankingLatency\"', 'Average', 300)", id = "c2" }],
            [{ expression = "SEARCH('{AWS/Personalize,RecommenderArn} MetricName=\"GetRecommendationsLatency\"', 'Average', 300)", id = "r1" }],
          ]
        }
      }
    ],
  )
}

data "aws_iam_policy_document" "monitor_dashboard" {
  count = var.create_dashboard ? 1 : 0

  statement {
    sid       = "ReadDashboardPages"
    actions   = ["cloudwatch:GetDashboard"]
    resources = [local.dashboard_arn_pattern]
  }

  statement {
    sid = "ListDashboardPages"
    # ListDashboards has no resource-level permissions.
    actions   = ["cloudwatch:ListDashboards"]
    resources = ["*"]
  }

  statement {
    sid       = "RequestDashboardBuild"
    actions   = ["events:PutEvents"]
    resources = ["arn:${local.partition}:events:${local.home_region}:${local.account_id}:event-bus/default"]

    condition {
      test     = "StringEquals"
      variable = "events:detail-type"
      values   = ["BuildPersonalizeMonitorDashboard"]
    }
  }
}

data "aws_iam_policy_document" "dashboard" {
  count = var.create_dashboard ? 1 : 0

  # The pages list every monitored resource, found the way the monitor finds them.
  source_policy_documents = [data.aws_iam_policy_document.discovery.json]

  statement {
    sid = "WriteDashboardPages"
    # The function never reads a page back (only the monitor does, see monitor_dashboard).
    actions   = ["cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"]
    resources = [local.dashboard_arn_pattern]
  }

  statement {
    sid = "ListDashboardPages"
    # ListDashboards has no resource-level permissions.
    actions   = ["cloudwatch:ListDashboards"]
    resources = ["*"]
  }

  statement {
    sid = "ReadModuleAlarms"
    # One DescribeAlarms by name prefix "<name>-" (personalize_monitor.dashboard module_alarms).
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:${local.partition}:cloudwatch:${local.home_region}:${local.account_id}:alarm:${var.name}-*"]
  }
}

module "dashboard" {
  source = "./modules/lambda-function"
  count  = var.create_dashboard ? 1 : 0

  function_name = "${var.name}-dashboard"
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
        source        = ["personalize.monitor"]
        "detail-type" = ["BuildPersonalizeMonitorDashboard"]
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

  # Retries and the dead-letter queue (reliability.tf).
  dead_letter_queue_arn              = local.reliable_delivery.dead_letter_queue_arn
  dead_letter_queue_kms_key_arn      = local.reliable_delivery.dead_letter_queue_kms_key_arn
  async_max_retry_attempts           = local.reliable_delivery.async_max_retry_attempts
  async_max_event_age_seconds        = local.reliable_delivery.async_max_event_age_seconds
  event_target_max_retry_attempts    = local.reliable_delivery.event_target_max_retry_attempts
  event_target_max_event_age_seconds = local.reliable_delivery.event_target_max_event_age_seconds
}

# Page 1, owned by Terraform so that it exists from the first apply and goes with destroy.
# Extra pages are created at run time and removed by the teardown (see notifications.tf).
resource "aws_cloudwatch_dashboard" "main" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ start = "-PT6H", periodOverride = "inherit", widgets = local.dashboard_initial_widgets })

  lifecycle {
    # The dashboard function rewrites the body; Terraform must not revert it.
    ignore_changes = [dashboard_body]
  }
}
