variable "function_name" {
  description = "Name of the Lambda function, its IAM role and its log group (/aws/lambda/<name>)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "The function_name must be 1-64 characters of letters, digits, hyphens and underscores."
  }
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string
  default     = ""
}

variable "source_dir" {
  description = "Directory whose contents become the function package (zipped without a build step)."
  type        = string
}

variable "build_dir" {
  description = "Directory the package zip is written to."
  type        = string
}

variable "handler" {
  description = "Function entry point, module.function."
  type        = string
  default     = "handler.lambda_handler"
}

variable "runtime" {
  description = "Lambda Python runtime identifier."
  type        = string
}

variable "timeout" {
  description = "Function timeout in seconds."
  type        = number
  default     = 60
}

variable "memory_size" {
  description = "Function memory in MB."
  type        = number
  default     = 256
}

variable "reserved_concurrent_executions" {
  description = "Concurrent executions reserved for the function; null or -1 for none."
  type        = number
  default     = null

  validation {
    condition     = alltrue([for n in(var.reserved_concurrent_executions == null ? [] : [var.reserved_concurrent_executions]) : n == -1 || (n >= 1 && floor(n) == n)])
    error_message = "The reserved_concurrent_executions must be null or -1 (no reservation) or a whole number of at least 1."
  }
}

variable "layers" {
  description = "Layer version ARNs attached to the function."
  type        = list(string)
  default     = []
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "IAM policy document (JSON) with the function's own permissions; log permissions are added here."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's log group in days."
  type        = number
}

variable "kms_key_arn" {
  description = "KMS key ARN that encrypts the log group and the function's environment; null for AWS-managed keys."
  type        = string
  default     = null
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary attached to the function's IAM role; null for none."
  type        = string
  default     = null
}

variable "iam_role_path" {
  description = "Path of the function's IAM role."
  type        = string
  default     = "/"
}

variable "event_rules" {
  description = "EventBridge rules on the default bus that invoke the function, keyed by a short suffix of the rule name. Each sets schedule_expression or event_pattern; input replaces the event when set."
  type = map(object({
    description         = string
    schedule_expression = optional(string)
    event_pattern       = optional(string)
    input               = optional(string)
  }))
  default = {}
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "async_max_retry_attempts" {
  description = "Retries Lambda makes for a failed asynchronous invocation (0-2); null leaves Lambda's default and creates no event invoke config."
  type        = number
  default     = null

  validation {
    condition     = var.async_max_retry_attempts == null || (var.async_max_retry_attempts >= 0 && var.async_max_retry_attempts <= 2)
    error_message = "The async_max_retry_attempts must be 0, 1 or 2 (or null)."
  }
}

variable "async_max_event_age_seconds" {
  description = "How long Lambda keeps retrying an asynchronous event (60-21600 seconds)."
  type        = number
  default     = 21600

  validation {
    condition     = var.async_max_event_age_seconds >= 60 && var.async_max_event_age_seconds <= 21600
    error_message = "The async_max_event_age_seconds must be between 60 and 21600."
  }
}

variable "dead_letter_queue_arn" {
  description = "SQS queue ARN that receives events the function could not process: the on-failure destination of asynchronous invocations and the dead-letter queue of its EventBridge targets. null for none."
  type        = string
  default     = null
}

variable "dead_letter_queue_kms_key_arn" {
  description = "KMS key that encrypts the dead-letter queue (SSE-KMS); the role may then use it to send. null when the queue uses SQS-managed encryption."
  type        = string
  default     = null
}

variable "event_target_max_retry_attempts" {
  description = "Retries EventBridge makes to deliver an event to the function (0-185)."
  type        = number
  default     = 185

  validation {
    condition     = var.event_target_max_retry_attempts >= 0 && var.event_target_max_retry_attempts <= 185
    error_message = "The event_target_max_retry_attempts must be between 0 and 185."
  }
}

variable "event_target_max_event_age_seconds" {
  description = "How long EventBridge retries delivering an event to the function (60-86400 seconds)."
  type        = number
  default     = 86400

  validation {
    condition     = var.event_target_max_event_age_seconds >= 60 && var.event_target_max_event_age_seconds <= 86400
    error_message = "The event_target_max_event_age_seconds must be between 60 and 86400."
  }
}
