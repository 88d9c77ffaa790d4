# Mock data for the aws provider in tests/*.tftest.hcl (terraform test): plans need no AWS at all.
# Account 123456789012 in us-east-1, partition aws. Policy documents render as an empty (valid)
# policy: the tests assert on their statements, which come from the configuration.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform-test"
    user_id    = "AIDATERRAFORMTEST"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    id   = "us-east-1"
    name = "us-east-1"
  }
}

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}
