# Deployment used by `make bench` (tools/bench.py): regions chosen by the benchmark.
provider "aws" {
  region = "us-east-1"
}

variable "regions" {
  description = "Regions the benchmark seeds."
  type        = list(string)
  default     = ["us-east-1", "eu-west-1", "ap-southeast-2"]
}

module "personalize_monitor" {
  source = "../../.."

  regions = var.regions
}

output "function_names" {
  description = "Deployed function names by role."
  value       = module.personalize_monitor.function_names
}

output "layer_arn" {
  description = "ARN of the shared layer version."
  value       = module.personalize_monitor.layer_arn
}

output "package_paths" {
  description = "Local paths of the packages Terraform built, by role."
  value       = module.personalize_monitor.package_paths
}
