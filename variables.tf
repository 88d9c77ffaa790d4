################################################################################
# Naming and scope
################################################################################

variable "name" {
  description = "Name prefix of every resource the module and its functions create (functions, roles, rules, topic, alarms, dashboard). Two instances in one account need different names."
  type        = string
  default     = "PersonalizeMonitor"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,38}$", var.name))
    error_message = "The name must start with a letter and have 1-39 letters, digits or hyphens (it prefixes function, role and EventBridge rule names such as <name>-stop-recommender-command, which are limited to 64 characters)."
  }
}

variable "campaign_arns" {
  description = "Campaigns to monitor: [\"all\"] for every active campaign in var.regions, or a list of campaign ARNs (their regions are monitored whatever var.regions says), or [] for none."
  type        = list(string)
  default     = ["all"]

  validation {
    condition = (
      var.campaign_arns == tolist(["all"]) ||
      alltrue([for a in var.campaign_arns : can(regex("^arn:(aws|aws-cn|aws-us-gov):personalize:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:campaign/[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", a))])
    )
    error_message = "The campaign_arns must be [\"all\"] or a list of campaign ARNs like arn:aws:personalize:us-east-1:123456789012:campaign/my-campaign (\"all\" cannot be mixed with ARNs)."
  }

  validation {
    condition     = length(var.campaign_arns) <= 10
    error_message = "At most 10 campaign ARNs can be listed: every function receives them in its environment, which Lambda limits to 4 KB for all its settings together; use [\"all\"] with var.regions for larger fleets."
  }
}

variable "recommender_arns" {
  description = "Recommenders to monitor: [\"all\"] for every active recommender in var.regions, or a list of recommender ARNs (their regions are monitored whatever var.regions says), or [] for none."
  type        = list(string)
  default     = ["all"]

  validation {
    condition = (
      var.recommender_arns == tolist(["all"]) ||
      alltrue([for a in var.recommender_arns : can(regex("^arn:(aws|aws-cn|aws-us-gov):personalize:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:recommender/[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", a))])
    )
    error_message = "The recommender_arns must be [\"all\"] or a list of recommender ARNs like arn:aws:personalize:us-east-1:123456789012:recommender/my-recommender (\"all\" cannot be mixed with ARNs)."
  }

  validation {
    condition     = length(var.recommender_arns) <= 10
    error_message = "At most 10 recommender ARNs can be listed: every function receives them in its environment, which Lambda limits to 4 KB for all its settings together; use [\"all\"] with var.regions for larger fleets."
  }
}

variable "regions" {
  description = "Regions in which [\"all\"] discovers campaigns and recommenders. Empty means the provider's region. Metrics and alarms for every region live in the provider's region."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for r in var.regions : can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", r))])
    error_message = "Each entry of regions must be a region name such as us-east-1 or eu-west-2."
  }

  validation {
    condition     = length(var.regions) <= 20 && length(distinct(var.regions)) == length(var.regions)
    error_message = "The regions list must not repeat a region and may hold at most 20 regions."
  }
}

################################################################################
# Functions
################################################################################

variable "lambda_runtime" {
  description = "Python runtime of every function and of the shared layer: python3.11 or python3.12, the Python runtimes that Lambda has not deprecated and lets you create functions with (runtime table https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, checked 2026-12-02: python3.10 and older are deprecated, and creating functions with them is blocked or about to be) that the AWS provider floor 5.32.0 also accepts (python3.13 and newer need later provider releases)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = contains(["python3.11", "python3.12"], var.lambda_runtime)
    error_message = "The lambda_runtime must be python3.11 or python3.12: Lambda has deprecated python3.10 and older and blocks, or is about to block, creating functions with them (checked 2026-12-02), and the AWS provider floor of this module (5.32.0) rejects python3.13 and newer."
  }
}

variable "monitor_schedule_expression" {
  description = "EventBridge schedule of the monitor function. The metrics and alarms assume 5-minute windows, so change it only to pause (a long rate) or for testing."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate\\([0-9]+ (minute|minutes|hour|hours|day|days)\\)|cron\\(.+\\))$", var.monitor_schedule_expression))
    error_message = "The monitor_schedule_expression must be an EventBridge schedule such as rate(5 minutes) or cron(0/5 * * * ? *)."
  }
}

variable "monitor_timeout" {
  description = "Timeout of the monitor function in seconds."
  type        = number
  default     = 120

  validation {
    condition     = var.monitor_timeout >= 10 && var.monitor_timeout <= 290
    error_message = "The monitor_timeout must be between 10 and 290 seconds (it runs every 5 minutes)."
  }
}

variable "monitor_memory_size" {
  description = "Memory of the monitor function in MB."
  type        = number
  default     = 256

  validation {
    condition     = var.monitor_memory_size >= 128 && var.monitor_memory_size <= 10240
    error_message = "The monitor_memory_size must be between 128 and 10240 MB."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of the values CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_level" {
  description = "Lowest level of the records the functions write to their JSON logs: DEBUG, INFO, WARNING, ERROR or CRITICAL. INFO keeps every decision, change and event published; WARNING and above keep only what went wrong. Like describe_rate_per_second, it reaches the functions' environment only when it differs from the default."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "The log_level must be one of DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key ARN for the log groups, function environments, the notification topic and the module's queues; null uses AWS managed keys (SSE-SQS for the queues). The key policy must allow CloudWatch Logs and Lambda to use it, cloudwatch.amazonaws.com (alarms publishing to the encrypted topic) and events.amazonaws.com (undeliverable events to the dead-letter queue) to call kms:Decrypt and kms:GenerateDataKey*, and this account's IAM principals (the functions' roles, which the module grants the key) to use it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:(aws|aws-cn|aws-us-gov):kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab, or null."
  }
}

variable "permissions_boundary_arn" {
  description = "IAM permissions boundary attached to every role the module creates; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "The permissions_boundary_arn must be an IAM policy ARN such as arn:aws:iam::123456789012:policy/boundary, or null."
  }
}

variable "iam_role_path" {
  description = "Path of every IAM role the module creates."
  type        = string
  default     = "/"

  validation {
    condition     = can(regex("^/([A-Za-z0-9+=,.@_-]+/)*$", var.iam_role_path))
    error_message = "The iam_role_path must begin and end with / (for example /service-roles/)."
  }
}

variable "tags" {
  description = "Tags applied to every resource the module creates, including the alarms its functions create at run time."
  type        = map(string)
  default     = {}
}

################################################################################
# Alarms (the monitor creates and maintains one set per monitored resource)
################################################################################

variable "auto_create_utilization_alarms" {
  description = "Create and maintain a low-utilization alarm for every monitored campaign and recommender."
  type        = bool
  default     = true
}

variable "utilization_threshold_percent" {
  description = "Utilization (percent of the provisioned minimum TPS/RPS) below which the low-utilization alarm fires, 0-1000."
  type        = number
  default     = 100

  validation {
    condition     = var.utilization_threshold_percent >= 0 && var.utilization_threshold_percent <= 1000
    error_message = "The utilization_threshold_percent must be between 0 and 1000."
  }
}

variable "auto_create_idle_alarms" {
  description = "Create and maintain an idle alarm (no requests for idle_threshold_hours) for every monitored campaign and recommender."
  type        = bool
  default     = true
}

variable "publish_derived_metrics" {
  description = "Publish averageTPS/averageRPS and campaignUtilization/recommenderUtilization (the SAM application's metrics) besides the minimum. false saves two custom metrics per resource (USD 0.30 a month each at the first price tier) but also drops the per-resource alarms and the utilization graphs, which are built on them. derived_metrics, when set, decides instead (it offers a mode that keeps the alarms)."
  type        = bool
  default     = true
}

variable "derived_metrics" {
  description = "How the per-resource rate and utilization are made. \"stored\": the monitor publishes averageTPS/averageRPS and campaignUtilization/recommenderUtilization and the alarms and graphs read them (3 custom metrics per resource). \"metric_math\": only the minimum is stored (1 custom metric per resource); the per-resource alarms and the graphs compute rate and utilization with CloudWatch metric math on the AWS/Personalize request metrics. CloudWatch alarms cannot read another region's metrics, so in this mode only resources in the deployment's region get per-resource alarms (deploy the module once per region to alarm on every region); other regions keep their graphs. \"none\": only the minimum, no per-resource alarms and no utilization graphs. null (the default) follows publish_derived_metrics: true is \"stored\", false is \"none\"."
  type        = string
  default     = null

  validation {
    condition     = var.derived_metrics == null || contains(["stored", "metric_math", "none"], var.derived_metrics)
    error_message = "The derived_metrics must be null, \"stored\", \"metric_math\" or \"none\"."
  }
}

variable "alarm_writes_per_second" {
  description = "PutMetricAlarm calls per second the monitor makes while creating or updating per-resource alarms (CloudWatch's default quota is 3 per second; raise it only if your account's quota is higher). A run writes at most 30 seconds' worth; large fleets get their alarms over several runs."
  type        = number
  default     = 3

  validation {
    condition     = var.alarm_writes_per_second >= 0.5 && var.alarm_writes_per_second <= 100
    error_message = "The alarm_writes_per_second must be between 0.5 and 100."
  }
}

variable "describe_rate_per_second" {
  description = "Personalize describe calls per second a function makes per region when it meets campaigns it has not described yet (a cold monitor container, the dashboard function), so that discovery does not trip Personalize's throttling. Lower it when other tools share the account's describe quota; a higher rate makes cold starts of large fleets finish discovery in fewer runs."
  type        = number
  default     = 10

  validation {
    condition     = var.describe_rate_per_second >= 0.1 && var.describe_rate_per_second <= 100
    error_message = "The describe_rate_per_second must be between 0.1 and 100."
  }
}

variable "idle_threshold_hours" {
  description = "Hours without a single request after which a resource counts as idle (idle alarm, and idle delete/stop when enabled), 1-168."
  type        = number
  default     = 24

  validation {
    condition     = var.idle_threshold_hours >= 1 && var.idle_threshold_hours <= 168 && floor(var.idle_threshold_hours) == var.idle_threshold_hours
    error_message = "The idle_threshold_hours must be a whole number of hours between 1 and 168 (CloudWatch evaluates alarms over at most seven days)."
  }
}

################################################################################
# Notifications (one SNS topic in the provider's region for every monitored region)
################################################################################

variable "sns_topic_arn" {
  description = "Existing SNS topic to notify instead of creating one; null creates <name>-Notifications (PersonalizeMonitorNotifications with the default name). It must be a standard topic in the provider's region whose policy lets cloudwatch.amazonaws.com publish (and use its KMS key, if encrypted); the module's functions publish to it with their roles (the module grants them sns:Publish on it; an encrypted topic's key must also let them use it). The module does not change its policy."
  type        = string
  default     = null

  validation {
    condition     = var.sns_topic_arn == null || can(regex("^arn:(aws|aws-cn|aws-us-gov):sns:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", var.sns_topic_arn))
    error_message = "The sns_topic_arn must be the ARN of a standard SNS topic such as arn:aws:sns:us-east-1:123456789012:alerts (FIFO topics cannot receive alarm notifications), or null."
  }
}

variable "notification_emails" {
  description = "Email addresses subscribed to the notification topic (each receives one confirmation email from SNS, whatever the number of monitored regions)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[A-Za-z0-9._%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.[A-Za-z]{2,63}$", e)) && length(e) <= 254])
    error_message = "Each entry of notification_emails must be an email address such as ops@example.com; not valid: ${jsonencode([for e in var.notification_emails : e if !(can(regex("^[A-Za-z0-9._%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.[A-Za-z]{2,63}$", e)) && length(e) <= 254)])}."
  }

  validation {
    condition     = length(distinct(var.notification_emails)) == length(var.notification_emails) && length(var.notification_emails) <= 50
    error_message = "The notification_emails list must not repeat an address and may hold at most 50 addresses."
  }
}

variable "notification_subscriptions" {
  description = "Other subscriptions to the notification topic: protocol (http, https, email, email-json, sms, sqs, lambda, firehose or application) and endpoint (URL, address, phone number in E.164 form, or ARN); firehose also needs subscription_role_arn. SQS queue and Lambda function policies must let the topic deliver."
  type = list(object({
    protocol              = string
    endpoint              = string
    subscription_role_arn = optional(string)
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.notification_subscriptions : contains(["http", "https", "email", "email-json", "sms", "sqs", "lambda", "firehose", "application"], s.protocol)])
    error_message = "Each notification_subscriptions protocol must be one SNS supports: http, https, email, email-json, sms, sqs, lambda, firehose or application; not supported: ${jsonencode(distinct([for s in var.notification_subscriptions : s.protocol if !contains(["http", "https", "email", "email-json", "sms", "sqs", "lambda", "firehose", "application"], s.protocol)]))}."
  }

  validation {
    condition = alltrue([for s in var.notification_subscriptions : can(regex(lookup({
      http         = "^http://[^[:space:]]+$"
      https        = "^https://[^[:space:]]+$"
      email        = "^[^@[:space:]]+@[^@[:space:]]+\\.[A-Za-z]{2,63}$"
      "email-json" = "^[^@[:space:]]+@[^@[:space:]]+\\.[A-Za-z]{2,63}$"
      sms          = "^\\+?[1-9][0-9]{6,14}$"
      sqs          = "^arn:(aws|aws-cn|aws-us-gov):sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\\.fifo)?$"
      lambda       = "^arn:(aws|aws-cn|aws-us-gov):lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$"
      firehose     = "^arn:(aws|aws-cn|aws-us-gov):firehose:[a-z0-9-]+:[0-9]{12}:deliverystream/[A-Za-z0-9._-]{1,64}$"
      application  = "^arn:(aws|aws-cn|aws-us-gov):sns:[a-z0-9-]+:[0-9]{12}:endpoint/.+$"
    }, s.protocol, "^$"), s.endpoint))])
    error_message = "Each notification_subscriptions endpoint must suit its protocol: an http:// or https:// URL, an email address, a phone number such as +14155550100 (sms), or an SQS queue, Lambda function, Firehose delivery stream or SNS platform endpoint ARN."
  }

  validation {
    condition     = alltrue([for s in var.notification_subscriptions : (s.protocol == "firehose") == (s.subscription_role_arn != null)])
    error_message = "A firehose subscription needs subscription_role_arn (an IAM role SNS assumes to write to the stream); other protocols must leave it unset."
  }

  validation {
    condition     = length(distinct([for s in var.notification_subscriptions : "${s.protocol} ${s.endpoint}"])) == length(var.notification_subscriptions) && length(var.notification_subscriptions) <= 50
    error_message = "The notification_subscriptions list must not repeat a protocol and endpoint pair and may hold at most 50 entries."
  }
}

################################################################################
# Teardown (what the functions created at run time is removed on terraform destroy)
################################################################################

variable "cleanup_on_destroy" {
  description = "On terraform destroy, delete what the functions created at run time (the alarms tagged CreatedBy=<name>, extra dashboard pages) with scripts/teardown.py, run by cleanup_python on the machine running Terraform with the credentials of cleanup_profile or of its environment, never those written only in the provider block (it refuses to act in another account, and stops at once when it finds no credentials). Needs a POSIX shell, python3 and boto3. Set false (and apply) before destroying where that is impossible, then run the script yourself."
  type        = bool
  default     = true
}

variable "cleanup_role_arn" {
  description = "IAM role the destroy-time teardown assumes before deleting what the functions created (use the role the aws provider assumes, e.g. one per workspace/account); null uses the credentials of cleanup_profile or of Terraform's environment."
  type        = string
  default     = null

  validation {
    condition     = var.cleanup_role_arn == null || can(regex("^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:role/.+$", var.cleanup_role_arn))
    error_message = "The cleanup_role_arn must be an IAM role ARN such as arn:aws:iam::123456789012:role/deployer, or null."
  }
}

variable "cleanup_python" {
  description = "Python 3 interpreter (with boto3) that runs the teardown on destroy: a command on PATH or an absolute path."
  type        = string
  default     = "python3"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./+-]+$", var.cleanup_python))
    error_message = "The cleanup_python must be a command name or path made of letters, digits and _ . / + - (no spaces or shell characters), such as python3 or /usr/bin/python3."
  }
}

################################################################################
# Cost optimization actions
################################################################################

variable "auto_adjust_min_tps" {
  description = "Step down the minimum TPS/RPS of over-provisioned campaigns and recommenders (25 % an hour, never below the 14-day low watermark or 1)."
  type        = bool
  default     = true
}

variable "auto_delete_or_stop_idle_resources" {
  description = "Delete idle campaigns and stop idle recommenders (no requests for idle_threshold_hours, older than that and not updated within it)."
  type        = bool
  default     = false
}

variable "dry_run" {
  description = "Make and announce every cost decision (as notification events and on the notification topic) without changing any resource."
  type        = bool
  default     = false
}

variable "command_principals" {
  description = "IAM roles or users of this account (ARNs) that may send commands to the action functions besides the module's own monitor: they may send the seed's command payloads ({\"ARN\", \"NewMinTPS\", \"Reason\"} / {\"ARN\", \"Reason\"}) to the command queues (output command_queue_urls). Every other sender is denied by the queues' policies. Each principal must exist when you apply."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for p in var.command_principals : can(regex("^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]{1,512}$", p))])
    error_message = "Each command_principals entry must be the ARN of an IAM role or user, such as arn:aws:iam::123456789012:role/ml-ops (no wildcards, no assumed-role session ARNs)."
  }

  validation {
    condition     = length(var.command_principals) <= 20 && length(distinct(var.command_principals)) == length(var.command_principals)
    error_message = "The command_principals list may hold at most 20 distinct ARNs."
  }
}

variable "accept_default_bus_commands" {
  description = "Also act on the seed's command events (UpdatePersonalizeCampaignMinProvisionedTPS, UpdatePersonalizeRecommenderMinRecommendationRPS, DeletePersonalizeCampaign, StopPersonalizeRecommender; source personalize.monitor) put on this account's default EventBridge bus, as the SAM application did. Off by default: anyone allowed to put events on the default bus could then change or delete resources. Events from other accounts are never acted on."
  type        = bool
  default     = false
}

variable "protection_tag_key" {
  description = "Resources carrying a tag with this key are monitored and alarmed but never changed by the module."
  type        = string
  default     = "PersonalizeMonitor:Protect"

  validation {
    condition     = can(regex("^[A-Za-z0-9 _.:/=+@-]{1,128}$", var.protection_tag_key)) && substr(var.protection_tag_key, 0, 4) != "aws:"
    error_message = "The protection_tag_key must be a valid tag key: 1-128 letters, digits, spaces or _.:/=+-@, not starting with aws:."
  }
}

variable "campaign_price_per_tps_hour" {
  description = "USD per TPS-hour of a campaign (billed on the higher of min TPS and actual TPS), used only for the estimated monthly savings in cost-action notifications. Default: the first-tier real-time recommendation price (USD 0.20 per TPS-hour for the first 20,000 TPS-hours a month) of the Amazon Personalize price list, https://aws.amazon.com/personalize/pricing/; set your region's and volume tier's price."
  type        = number
  default     = 0.2

  validation {
    condition     = var.campaign_price_per_tps_hour >= 0 && var.campaign_price_per_tps_hour <= 1000
    error_message = "The campaign_price_per_tps_hour must be a price in USD between 0 and 1000."
  }
}

variable "recommender_price_per_rps_hour" {
  description = "USD per RPS-hour of a recommender (one request per second for an hour = 3,600 requests, billed on the higher of the minimum requests per hour and the actual requests), used only for the estimated monthly savings in cost-action notifications. Default: the same USD 0.20 first-tier real-time recommendation rate as campaign_price_per_tps_hour (https://aws.amazon.com/personalize/pricing/); domain recommenders are priced per use case, so set the rate of yours."
  type        = number
  default     = 0.2

  validation {
    condition     = var.recommender_price_per_rps_hour >= 0 && var.recommender_price_per_rps_hour <= 1000
    error_message = "The recommender_price_per_rps_hour must be a price in USD between 0 and 1000."
  }
}

variable "scheduled_capacity" {
  description = "Scheduled minimum capacity (pre-warm before a known peak, scale back after): each entry sets the min TPS (campaign ARN) or min RPS (recommender ARN) of arn to min_tps on the EventBridge schedule_expression (rate(...) or cron(...), UTC), through the update_tps function. The ARN must be in scope (campaign_arns / recommender_arns / regions). The automatic step-down never changes a resource listed here: its schedules own its minimum. A protection-tagged resource is not changed by its schedules either."
  type = list(object({
    arn                 = string
    schedule_expression = string
    min_tps             = number
    description         = optional(string, "")
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.scheduled_capacity : can(regex("^arn:(aws|aws-cn|aws-us-gov):personalize:[a-z]{2}(-gov)?-[a-z]+-[0-9]:[0-9]{12}:(campaign|recommender)/[A-Za-z0-9][A-Za-z0-9_-]{0,62}$", s.arn))])
    error_message = "Each scheduled_capacity arn must be a campaign or recommender ARN such as arn:aws:personalize:us-east-1:123456789012:campaign/my-campaign."
  }

  validation {
    condition     = alltrue([for s in var.scheduled_capacity : can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^()]+\\))$", s.schedule_expression))])
    error_message = "Each scheduled_capacity schedule_expression must be an EventBridge schedule such as cron(30 7 ? * MON-FRI *) or rate(1 day)."
  }

  validation {
    condition     = alltrue([for s in var.scheduled_capacity : s.min_tps >= 1 && floor(s.min_tps) == s.min_tps])
    error_message = "Each scheduled_capacity min_tps must be a whole number of at least 1."
  }

  validation {
    condition     = alltrue([for s in var.scheduled_capacity : s.description == null || length(coalesce(s.description, " ")) <= 200])
    error_message = "Each scheduled_capacity description must be at most 200 characters."
  }

  validation {
    condition     = length(var.scheduled_capacity) <= 50 && length(distinct([for s in var.scheduled_capacity : s.arn])) <= 10 && length(distinct([for s in var.scheduled_capacity : "${s.arn} ${s.schedule_expression}"])) == length(var.scheduled_capacity)
    error_message = "The scheduled_capacity list may hold at most 50 entries for at most 10 distinct ARNs (the monitor receives them in an environment variable) and must not repeat an arn with the same schedule_expression."
  }
}

################################################################################
# Dashboard
################################################################################

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard (Amazon-Personalize-Monitor, or <name>-Dashboard) and the function that rebuilds it hourly and when the monitored resources change; large fleets get extra pages <dashboard>-2, <dashboard>-3, ..."
  type        = bool
  default     = true
}

################################################################################
# Reserved concurrency (off by default: reserving fails in accounts with a low concurrency quota)
################################################################################

variable "dashboard_reserved_concurrency" {
  description = "Concurrent executions reserved for the dashboard function; null (default) reserves none. Lambda refuses a reservation that would leave fewer than 100 unreserved executions in the account and region (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), so any reservation fails to apply in accounts whose concurrency quota is low (new accounts often have 10). Not needed for correctness: overlapping builds write the same pages (tests/e2e/test_concurrency.py)."
  type        = number
  default     = null

  validation {
    condition     = alltrue([for n in(var.dashboard_reserved_concurrency == null ? [] : [var.dashboard_reserved_concurrency]) : n >= 1 && n <= 1000 && floor(n) == n])
    error_message = "The dashboard_reserved_concurrency must be null (no reservation) or a whole number from 1 to 1000 (0 would stop the function from ever running)."
  }
}

variable "monitor_reserved_concurrency" {
  description = "Concurrent executions reserved for the monitor function; null (default) reserves none. Lambda refuses a reservation that would leave fewer than 100 unreserved executions in the account and region (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), so any reservation fails to apply in accounts whose concurrency quota is low (new accounts often have 10). Not needed for correctness: overlapping runs create no duplicate alarms, dashboards or actions (tests/e2e/test_concurrency.py); 1 also caps the monitor at one run at a time."
  type        = number
  default     = null

  validation {
    condition     = alltrue([for n in(var.monitor_reserved_concurrency == null ? [] : [var.monitor_reserved_concurrency]) : n >= 1 && n <= 1000 && floor(n) == n])
    error_message = "The monitor_reserved_concurrency must be null (no reservation) or a whole number from 1 to 1000 (0 would stop the monitor from ever running)."
  }
}

################################################################################
# Teardown credentials (the destroy-time teardown runs outside the aws provider)
################################################################################

variable "cleanup_profile" {
  description = "Named profile (in the shared AWS config files of the machine running Terraform) whose credentials the destroy-time teardown uses; set it to the provider block's profile when Terraform gets its credentials there. null uses the environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...) and the default profile. With cleanup_role_arn, the role is assumed from this profile. Without any credentials the teardown stops at once and says what to set."
  type        = string
  default     = null

  validation {
    condition     = var.cleanup_profile == null || can(regex("^[A-Za-z0-9_.+=,@-]{1,128}$", var.cleanup_profile))
    error_message = "The cleanup_profile must be a profile name of 1-128 letters, digits and _.+=,@- (as in [profile NAME] of ~/.aws/config), or null."
  }
}

variable "cleanup_use_instance_metadata" {
  description = "Let the destroy-time teardown take credentials from the EC2 instance metadata service (169.254.169.254) when none are found otherwise: set true when Terraform runs on EC2 with an instance profile and nothing else. false (default): the teardown contacts nothing but STS and CloudWatch."
  type        = bool
  default     = false
}
