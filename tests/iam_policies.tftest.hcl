# The IAM policy each function gets: which actions are present or absent, and on which resources.
# Plans only, against mock providers: the assertions read the statements of the policy documents
# (the rendered JSON is checked with parliament in tests/e2e/test_security_scans.py).

mock_provider "aws" {
  source = "./tests/mocks"
}

mock_provider "archive" {}

test {
  parallel = true
}

run "discovery" {
  command   = plan
  state_key = "discovery"

  variables {
    regions = ["us-east-1", "eu-west-1"]
  }

  # monitor (discovery statements are shared with the dashboard function)
  assert {
    condition     = one([for s in data.aws_iam_policy_document.discovery.statement : s if s.sid == "ListInferenceResources"]).actions == toset(["personalize:ListCampaigns", "personalize:ListRecommenders"]) && one([for s in data.aws_iam_policy_document.discovery.statement : s if s.sid == "ListInferenceResources"]).resources == toset(["*"])
    error_message = "The monitor lists campaigns and recommenders (no resource-level permissions: *) and nothing else on *."
  }

  assert {
    condition = one([for s in data.aws_iam_policy_document.discovery.statement : s if s.sid == "DescribeMonitoredCampaigns"]).resources == toset([
      "arn:aws:personalize:us-east-1:123456789012:campaign/*", "arn:aws:personalize:eu-west-1:123456789012:campaign/*",
    ]) && one([for s in data.aws_iam_policy_document.discovery.statement : s if s.sid == "DescribeMonitoredCampaigns"]).actions == toset(["personalize:DescribeCampaign"])
    error_message = "With [\"all\"] the monitor describes campaigns of its own account in the monitored regions only (recommenders need no describe)."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.dashboard[0].statement : s if s.sid == "DescribeSolutionVersions"]).resources == toset(["arn:aws:personalize:us-east-1:123456789012:solution/*", "arn:aws:personalize:eu-west-1:123456789012:solution/*"])
    error_message = "Solution versions are described (by the dashboard function) in the monitored regions only."
  }

  assert {
    condition     = !contains(flatten([for d in [data.aws_iam_policy_document.discovery, data.aws_iam_policy_document.monitor, data.aws_iam_policy_document.monitor_alarms, data.aws_iam_policy_document.monitor_actions] : [for s in d.statement : tolist(s.actions)]]), "personalize:DescribeSolutionVersion")
    error_message = "The monitor describes no solution version (it reads both request metrics of a campaign): only the dashboard function may."
  }

  assert {
    condition     = one(one([for s in data.aws_iam_policy_document.monitor.statement : s if s.sid == "WriteMonitorMetrics"]).condition).values == tolist(["PersonalizeMonitor"])
    error_message = "PutMetricData is limited to the PersonalizeMonitor namespace."
  }

  assert {
    condition = length([
      for a in flatten([for d in [data.aws_iam_policy_document.discovery, data.aws_iam_policy_document.monitor, data.aws_iam_policy_document.monitor_alarms, data.aws_iam_policy_document.monitor_actions, data.aws_iam_policy_document.monitor_dashboard[0]] : [for s in d.statement : tolist(s.actions)]]) :
      a if can(regex("^personalize:(Create|Update|Delete|Stop|Start|Tag|Untag)", a))
    ]) == 0
    error_message = "The monitor never changes a Personalize resource: it sends commands to the action functions."
  }

  assert {
    condition     = alltrue([for r in one([for s in data.aws_iam_policy_document.monitor_alarms.statement : s if s.sid == "AlarmsWrite"]).resources : startswith(r, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:PersonalizeMonitor-")])
    error_message = "The monitor creates alarms only under its own name prefix, in the home region."
  }

  assert {
    condition     = alltrue([for r in one([for s in data.aws_iam_policy_document.monitor_alarms.statement : s if s.sid == "AlarmsTagAndDelete"]).resources : startswith(r, "arn:aws:cloudwatch:us-east-1:123456789012:alarm:PersonalizeMonitor-")])
    error_message = "The monitor deletes only its own alarms."
  }

  # update_tps
  assert {
    condition     = one([for s in data.aws_iam_policy_document.update_tps.statement : s if s.sid == "UpdateCampaignsInScope"]).resources == toset(["arn:aws:personalize:us-east-1:123456789012:campaign/*", "arn:aws:personalize:eu-west-1:123456789012:campaign/*"]) && contains(one([for s in data.aws_iam_policy_document.update_tps.statement : s if s.sid == "UpdateCampaignsInScope"]).actions, "personalize:UpdateCampaign")
    error_message = "update_tps updates campaigns of the monitored regions only."
  }

  assert {
    condition     = contains(one([for s in data.aws_iam_policy_document.update_tps.statement : s if s.sid == "UpdateRecommendersInScope"]).actions, "personalize:UpdateRecommender")
    error_message = "update_tps updates recommenders."
  }

  assert {
    condition     = length([for a in flatten([for s in data.aws_iam_policy_document.update_tps.statement : tolist(s.actions)]) : a if contains(["personalize:DeleteCampaign", "personalize:StopRecommender", "cloudwatch:DeleteAlarms"], a)]) == 0
    error_message = "update_tps can neither delete a campaign, stop a recommender nor delete alarms."
  }

  # delete_campaign
  assert {
    condition     = one([for s in data.aws_iam_policy_document.delete_campaign.statement : s if s.sid == "DeleteCampaignsInScope"]).resources == toset(["arn:aws:personalize:us-east-1:123456789012:campaign/*", "arn:aws:personalize:eu-west-1:123456789012:campaign/*"])
    error_message = "delete_campaign deletes campaigns of the monitored regions only."
  }

  assert {
    condition     = length([for a in flatten([for s in data.aws_iam_policy_document.delete_campaign.statement : tolist(s.actions)]) : a if can(regex("^personalize:(Update|Stop|DeleteRecommender)", a))]) == 0
    error_message = "delete_campaign can neither update nor stop anything."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.delete_campaign.statement : s if s.sid == "DeleteOwnCampaignAlarms"]).resources == toset(["arn:aws:cloudwatch:us-east-1:123456789012:alarm:PersonalizeMonitor-LowCampaignUtilization-*", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:PersonalizeMonitor-IdleCampaign-*"])
    error_message = "delete_campaign deletes only the monitor's campaign alarms."
  }

  # stop_recommender
  assert {
    condition     = one([for s in data.aws_iam_policy_document.stop_recommender.statement : s if s.sid == "StopRecommendersInScope"]).resources == toset(["arn:aws:personalize:us-east-1:123456789012:recommender/*", "arn:aws:personalize:eu-west-1:123456789012:recommender/*"]) && contains(one([for s in data.aws_iam_policy_document.stop_recommender.statement : s if s.sid == "StopRecommendersInScope"]).actions, "personalize:StopRecommender")
    error_message = "stop_recommender stops recommenders of the monitored regions only."
  }

  assert {
    condition     = length([for a in flatten([for s in data.aws_iam_policy_document.stop_recommender.statement : tolist(s.actions)]) : a if can(regex("^personalize:(Update|Delete)", a))]) == 0
    error_message = "stop_recommender can neither update nor delete anything."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.stop_recommender.statement : s if s.sid == "DeleteOwnRecommenderAlarms"]).resources == toset(["arn:aws:cloudwatch:us-east-1:123456789012:alarm:PersonalizeMonitor-LowRecommenderUtilization-*", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:PersonalizeMonitor-IdleRecommender-*"])
    error_message = "stop_recommender deletes only the monitor's recommender alarms."
  }

  # dashboard
  assert {
    condition     = one([for s in data.aws_iam_policy_document.dashboard[0].statement : s if s.sid == "WriteDashboardPages"]).resources == toset(["arn:aws:cloudwatch::123456789012:dashboard/Amazon-Personalize-Monitor*"])
    error_message = "The dashboard function writes only its own dashboard pages."
  }

  assert {
    condition     = length([for a in flatten([for s in concat(data.aws_iam_policy_document.discovery.statement, data.aws_iam_policy_document.dashboard[0].statement) : tolist(s.actions)]) : a if can(regex("^personalize:(Create|Update|Delete|Stop)|^cloudwatch:(PutMetricAlarm|DeleteAlarms)", a))]) == 0
    error_message = "The dashboard function changes neither Personalize resources nor alarms."
  }

  # Everyone: events only on the default bus of the home region, as personalize.monitor.
  assert {
    condition = alltrue([
      for s in flatten([for d in [data.aws_iam_policy_document.monitor_actions, data.aws_iam_policy_document.monitor_dashboard[0], data.aws_iam_policy_document.action_common] : d.statement]) :
      s.resources == toset(["arn:aws:events:us-east-1:123456789012:event-bus/default"]) if contains(s.actions, "events:PutEvents")
    ])
    error_message = "events:PutEvents is allowed on the default bus of the home region only."
  }

  # Commands travel only through the command queues.
  assert {
    condition     = one([for s in data.aws_iam_policy_document.monitor_actions.statement : s if s.sid == "CostChecksSendCommands"]).resources == toset(["arn:aws:sqs:us-east-1:123456789012:PersonalizeMonitor-update-tps-commands", "arn:aws:sqs:us-east-1:123456789012:PersonalizeMonitor-delete-campaign-commands", "arn:aws:sqs:us-east-1:123456789012:PersonalizeMonitor-stop-recommender-commands"]) && length([for s in data.aws_iam_policy_document.monitor_actions.statement : s if contains(s.actions, "events:PutEvents")]) == 0
    error_message = "The monitor sends commands to the three command queues only, never to the bus."
  }

  assert {
    condition     = alltrue([for role, d in data.aws_iam_policy_document.command_queue : one([for s in d.statement : s if s.sid == "ReceiveOwnCommands"]).resources == toset(["arn:aws:sqs:us-east-1:123456789012:PersonalizeMonitor-${replace(role, "_", "-")}-commands"])])
    error_message = "Each action function receives from its own command queue only."
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.command_queue["update_tps"].statement : s if s.sid == "DeferOwnCommands"]) == 0 && one([for s in data.aws_iam_policy_document.command_queue["delete_campaign"].statement : s if s.sid == "DeferOwnCommands"]).resources == toset(["arn:aws:sqs:us-east-1:123456789012:PersonalizeMonitor-delete-campaign-commands"])
    error_message = "Only the retiring functions may send (a deferred command back to their own queue), and only there."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.commands["stop_recommender"].statement : s if s.sid == "DenyEveryoneElse"]).effect == "Deny" && toset(one(one([for s in data.aws_iam_policy_document.commands["stop_recommender"].statement : s if s.sid == "DenyEveryoneElse"]).condition[*].values)) == toset(local.command_senders["stop_recommender"])
    error_message = "A command queue's policy denies sqs:SendMessage to everyone but its senders."
  }
}

run "explicit_arns" {
  command   = plan
  state_key = "explicit_arns"

  variables {
    campaign_arns    = ["arn:aws:personalize:us-east-1:123456789012:campaign/shop", "arn:aws:personalize:eu-west-1:123456789012:campaign/eu-shop"]
    recommender_arns = []
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.discovery.statement : s if s.sid == "DescribeMonitoredCampaigns"]).resources == toset(["arn:aws:personalize:us-east-1:123456789012:campaign/shop", "arn:aws:personalize:eu-west-1:123456789012:campaign/eu-shop"])
    error_message = "With explicit ARNs the monitor describes exactly those."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.update_tps.statement : s if s.sid == "UpdateCampaignsInScope"]).resources == toset(["arn:aws:personalize:us-east-1:123456789012:campaign/shop", "arn:aws:personalize:eu-west-1:123456789012:campaign/eu-shop"])
    error_message = "update_tps may update exactly the listed campaigns."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.delete_campaign.statement : s if s.sid == "DeleteCampaignsInScope"]).resources == toset(["arn:aws:personalize:us-east-1:123456789012:campaign/shop", "arn:aws:personalize:eu-west-1:123456789012:campaign/eu-shop"])
    error_message = "delete_campaign may delete exactly the listed campaigns."
  }

  assert {
    condition     = !contains(flatten([for s in data.aws_iam_policy_document.update_tps.statement : tolist(s.actions)]), "personalize:UpdateRecommender") && !contains(flatten([for s in data.aws_iam_policy_document.stop_recommender.statement : tolist(s.actions)]), "personalize:StopRecommender")
    error_message = "With recommender_arns = [] no function may update or stop a recommender."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.dashboard[0].statement : s if s.sid == "DescribeSolutionVersions"]).resources == toset(["arn:aws:personalize:us-east-1:123456789012:solution/*", "arn:aws:personalize:eu-west-1:123456789012:solution/*"])
    error_message = "Solution versions are described (by the dashboard function) in the regions of the listed ARNs only."
  }
}

run "existing_topic" {
  command   = plan
  state_key = "existing_topic"

  variables {
    sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:ml-alerts"
  }

  assert {
    condition     = one(one([for s in data.aws_iam_policy_document.monitor_alarms.statement : s if s.sid == "AlarmsWrite"]).condition).values == tolist(["arn:aws:sns:us-east-1:123456789012:ml-alerts"])
    error_message = "Run-time alarms may notify the module's topic and nothing else."
  }
}

run "no_dashboard" {
  command   = plan
  state_key = "no_dashboard"

  variables {
    create_dashboard = false
  }

  assert {
    condition     = length(data.aws_iam_policy_document.monitor_dashboard) == 0
    error_message = "Without the dashboard the monitor gets no dashboard permissions."
  }
}

run "recommenders_only" {
  command   = plan
  state_key = "recommenders_only"

  variables {
    campaign_arns = []
  }

  assert {
    condition = alltrue([
      for s in flatten([for d in [
        data.aws_iam_policy_document.monitor, data.aws_iam_policy_document.monitor_alarms,
        data.aws_iam_policy_document.monitor_actions, data.aws_iam_policy_document.monitor_dashboard[0],
        data.aws_iam_policy_document.action_common, data.aws_iam_policy_document.update_tps,
        data.aws_iam_policy_document.delete_campaign, data.aws_iam_policy_document.stop_recommender,
        data.aws_iam_policy_document.dashboard[0],
      ] : d.statement]) : length(coalesce(s.resources, [])) > 0
    ])
    error_message = "With campaign_arns = [] every statement still names resources (IAM rejects a statement without any)."
  }

  assert {
    condition = length([
      for a in flatten([for d in [data.aws_iam_policy_document.monitor, data.aws_iam_policy_document.update_tps, data.aws_iam_policy_document.delete_campaign, data.aws_iam_policy_document.dashboard[0]] : [for s in d.statement : tolist(s.actions)]]) :
      a if contains(["personalize:DescribeCampaign", "personalize:UpdateCampaign", "personalize:DeleteCampaign"], a)
    ]) == 0
    error_message = "With campaign_arns = [] no function may describe, update or delete a campaign."
  }
}

run "transport_encryption" {
  command   = plan
  state_key = "transport_encryption"

  assert {
    condition = alltrue([for d in [data.aws_iam_policy_document.topic[0], data.aws_iam_policy_document.dead_letters] : anytrue([
      for s in d.statement : s.effect == "Deny" && s.sid == "DenyInsecureTransport" && one(s.principals).identifiers == toset(["*"]) &&
      one(s.condition).test == "Bool" && one(s.condition).variable == "aws:SecureTransport" && one(s.condition).values == tolist(["false"])
    ])])
    error_message = "The topic and the dead-letter queue policies deny every request that is not made over TLS (aws:SecureTransport false)."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.topic[0].statement : s if s.sid == "DenyInsecureTransport"]).actions == toset(["sns:Publish"]) && one([for s in data.aws_iam_policy_document.dead_letters.statement : s if s.sid == "DenyInsecureTransport"]).actions == toset(["sqs:*"])
    error_message = "Plain-HTTP publishing to the topic and every plain-HTTP SQS action on the queue are denied."
  }
}
