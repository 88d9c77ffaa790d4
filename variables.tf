################################################################################
# Naming and scope
################################################################################

variable "name" {
  description = "Name prefix of every resource the module and its functions create (functions, roles, rules, topic, alarms, dashboard). Two instances in one account need different names."
  type        = string
  default     = "PersonalizeMonitor"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,39}$", var.name))
    error_message = "The name must start with a letter and have 1-40 letters, digits or hyphens (it prefixes IAM role names, which are limited to 64 characters)."
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
    condition     = length(var.campaign_arns) <= 30
    error_message = "At most 30 campaign ARNs can be listed (the functions receive them in environment variables, limited to 4 KB); use [\"all\"] with var.regions for larger fleets."
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
    condition     = length(var.recommender_arns) <= 30
    error_message = "At most 30 recommender ARNs can be listed (the functions receive them in environment variables, limited to 4 KB); use [\"all\"] with var.regions for larger fleets."
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
  description = "Python runtime of every function and of the shared layer."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.[0-9]+$", var.lambda_runtime))
    error_message = "The lambda_runtime must be a Lambda Python runtime identifier such as python3.12 (the AWS provider 3.x accepts up to python3.8)."
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

variable "kms_key_arn" {
  description = "Customer managed KMS key ARN for the log groups and function environments; null uses AWS managed keys. The key policy must allow CloudWatch Logs and Lambda to use it."
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
  description = "Make and announce every cost decision (as notification events) without changing any resource."
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
