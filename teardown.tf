################################################################################
# Teardown: on destroy, delete what the functions created at run time. Terraform (aws provider
# 3.39) cannot invoke a Lambda function on destroy, so a destroy-time local-exec runs
# scripts/teardown.py (python3 + boto3) on the machine running Terraform, with the credentials of
# var.cleanup_profile or of its environment (not those written only in the provider block: it
# stops at once and says what to set when it finds none; it never asks the instance metadata
# service unless var.cleanup_use_instance_metadata). The script checks the account through STS
# and refuses to act in another one, then deletes the alarms whose names match this deployment's
# run-time alarms AND that carry the contract's CreatedBy tag with the deployment's name, and the
# extra dashboard pages "<dashboard>-<n>" the dashboard function creates. Functions and alarms
# read the topic through this resource (local.notification_topic_arn), so they are gone before it
# runs. Switching cleanup_on_destroy off updates `input` in place: the next destroy then skips.
# Renaming the deployment replaces it, so the old name's run-time alarms are removed too.
################################################################################

locals {
  # Read through terraform_data.teardown: every function gets the topic in its environment
  # (main.tf), so every function - and every alarm (alarms.tf) - depends on the teardown resource
  # and is destroyed BEFORE its destroy-time cleanup runs: no monitor run can recreate an alarm
  # behind the cleanup. (`input` is known at plan time, unlike `output`.)
  notification_topic_arn = terraform_data.teardown.input.topic_arn
}

resource "terraform_data" "teardown" {
  # A new name (or account/region) replaces this resource: the old instance's destroy-time
  # cleanup runs with the OLD settings, removing what the functions created under the old name.
  triggers_replace = {
    name    = var.name
    region  = local.home_region
    account = local.account_id
  }

  input = {
    topic_arn = local.topic_arn
    python    = var.cleanup_python
    config = jsonencode({
      enabled           = var.cleanup_on_destroy
      name              = var.name
      region            = local.home_region
      account           = local.account_id
      alarm_labels      = local.runtime_alarm_labels
      created_by_tag    = local.contract.tag_keys.created_by
      dashboard_name    = local.dashboard_name
      role_arn          = var.cleanup_role_arn
      profile           = var.cleanup_profile
      instance_metadata = var.cleanup_use_instance_metadata
    })
  }

  provisioner "local-exec" {
    when        = destroy
    interpreter = ["/bin/sh", "-c"]
    command     = <<-EOT
      if ! command -v "$PM_TEARDOWN_PYTHON" >/dev/null 2>&1; then
        echo "personalize-monitor teardown: '$PM_TEARDOWN_PYTHON' was not found. Install Python 3 with boto3 (or set cleanup_python), or set cleanup_on_destroy = false and apply before destroying, then run $PM_TEARDOWN_SCRIPT yourself." >&2
        exit 1
      fi
      exec "$PM_TEARDOWN_PYTHON" "$PM_TEARDOWN_SCRIPT" </dev/null
    EOT
    environment = {
      PM_TEARDOWN_CONFIG = self.input.config
      PM_TEARDOWN_PYTHON = self.input.python
      PM_TEARDOWN_SCRIPT = "${path.module}/scripts/teardown.py"
    }
  }
}
