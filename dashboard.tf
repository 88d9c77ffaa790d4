################################################################################
# Dashboard: the CloudWatch dashboard's name and pages. Page 1 is created here so that it exists
# from the first apply (every graph a SEARCH expression or a Metrics Insights query that needs no
# resource list) and goes with destroy; the dashboard function (functions.tf) rewrites it with
# per-dataset-group graphs and adds pages "<dashboard>-2", "<dashboard>-3", ... at run time, which
# the teardown (teardown.tf) removes.
################################################################################

locals {
  dashboard_name = var.name == local.contract.default_name ? "Amazon-Personalize-Monitor" : "${var.name}-Dashboard"
  # Every page of the dashboard: page 1 is this name, the function adds <name>-2, <name>-3, ...
  dashboard_arn_pattern = "arn:${local.partition}:cloudwatch::${local.account_id}:dashboard/${local.dashboard_name}*"

  # Metrics Insights queries ranking the whole fleet (no resource list needed; the same text
  # as personalize_monitor.dashboard.least_utilized_query).
  least_utilized_queries = {
    for kind in ["campaign", "recommender"] : "${kind}s" => format(
      "SELECT AVG(%s) FROM SCHEMA(\"%s\", %s) GROUP BY %s ORDER BY AVG() ASC LIMIT 10",
      local.contract.metrics[kind].utilization, local.contract.metric_namespace,
      local.contract.metrics[kind].dimension, local.contract.metrics[kind].dimension,
    )
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
            [local.contract.metric_namespace, local.contract.metrics.resource_count, { label = "Monitored resources", stat = "Maximum" }],
            [local.contract.metric_namespace, local.contract.metrics.errors, { label = "Monitor errors (5 min)", stat = "Sum" }],
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
            expression = "SEARCH('{${local.contract.metric_namespace},${local.contract.metrics[lower(kind)].dimension}} MetricName=\"${local.contract.metrics[lower(kind)].utilization}\"', 'Average', 300)"
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
            [{ expression = "SEARCH('{AWS/Personalize,${local.contract.metrics.campaign.dimension}} MetricName=\"GetRecommendationsLatency\"', 'Average', 300)", id = "c1" }],
            [{ expression = "SEARCH('{AWS/Personalize,${local.contract.metrics.campaign.dimension}} MetricName=\"GetPersonalizedRankingLatency\"', 'Average', 300)", id = "c2" }],
            [{ expression = "SEARCH('{AWS/Personalize,${local.contract.metrics.recommender.dimension}} MetricName=\"GetRecommendationsLatency\"', 'Average', 300)", id = "r1" }],
          ]
        }
      }
    ],
  )
}

# Page 1, owned by Terraform so that it exists from the first apply and goes with destroy.
# Extra pages are created at run time and removed by the teardown (teardown.tf).
resource "aws_cloudwatch_dashboard" "main" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode({ start = "-PT6H", periodOverride = "inherit", widgets = local.dashboard_initial_widgets })

  lifecycle {
    # The dashboard function rewrites the body; Terraform must not revert it.
    ignore_changes = [dashboard_body]
  }
}
