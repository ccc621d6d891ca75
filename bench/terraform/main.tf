# The webhook-stack  as Terraform, for the benchmark only
# (scripts/bench.sh): the same six resources with the same names and
# properties, pointed at a local emulator through var.endpoint.
#
#   terraform init -plugin-dir=DIR   # a local mirror of hashicorp/aws, no network
#   terraform apply -auto-approve -var endpoint=http://127.0.0.1:PORT -var handler_zip=ZIP

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "suffix" {
  type    = string
  default = "tfbench"
}

variable "region" {
  type    = string
  default = "us-east-1"
}

variable "endpoint" {
  description = "The emulator (or a proxy in front of it), e.g. http://127.0.0.1:5000"
  type        = string
}

variable "handler_zip" {
  description = "The function's code package: a zip holding one executable, bootstrap"
  type        = string
}

provider "aws" {
  region                      = var.region
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
    dynamodb = var.endpoint
    iam      = var.endpoint
    kms      = var.endpoint
    lambda   = var.endpoint
    logs     = var.endpoint
    sts      = var.endpoint
  }
}

# The account, as webhook-stack finds it (one STS GetCallerIdentity).
data "aws_caller_identity" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  name      = "webhook-processor-${var.suffix}"
  log_group = "/aws/lambda/${local.name}"
  # The log group's ARN without the trailing ":*" (as in the key policy's condition).
  log_group_arn = "arn:aws:logs:${var.region}:${local.account}:log-group:${local.log_group}"
  tags = {
    Project     = "webhook-processor"
    Environment = var.suffix
    ManagedBy   = "webhook-stack"
  }
}

# 1. KMS key: rotation on, the three-statement key policy.
resource "aws_kms_key" "main" {
  description              = "${local.name}: Lambda environment variables and CloudWatch Logs"
  key_usage                = "ENCRYPT_DECRYPT"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  enable_key_rotation      = true
  deletion_window_in_days  = 7
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EnableRootAccount"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${local.account}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "AllowCloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = { ArnEquals = { "kms:EncryptionContext:aws:logs:arn" = local.log_group_arn } }
      },
      {
        Sid       = "AllowLambdaService"
        Effect    = "Allow"
        Principal = { Service = "lambda.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
      },
    ]
  })
  tags = local.tags
}

# 2. Alias.
resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

# 3. Log group: 30 days, encrypted with the key.
resource "aws_cloudwatch_log_group" "main" {
  name              = local.log_group
  retention_in_days = 30
  kms_key_id        = aws_kms_key.main.arn
  tags              = local.tags
}

# 4. Table: on demand, SSE with the AWS-managed key, point-in-time recovery.
resource "aws_dynamodb_table" "main" {
  name         = "transactions-${var.suffix}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "transactionId"

  attribute {
    name = "transactionId"
    type = "S"
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = true
  }

  tags = local.tags
}

# 5. Role: Lambda trust, one inline least-privilege policy, no managed policies.
resource "aws_iam_role" "main" {
  name = "webhook-processor-role-${var.suffix}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy" "main" {
  name = "webhook-processor-policy-${var.suffix}"
  role = aws_iam_role.main.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "WriteLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.main.arn}:*"
      },
      {
        Sid      = "ReadWriteTransactions"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem"]
        Resource = aws_dynamodb_table.main.arn
      },
      {
        Sid      = "DecryptEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = aws_kms_key.main.arn
      },
      {
        # X-Ray has no resource-level permissions.
        Sid      = "XRayTracing"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = "*"
      },
    ]
  })
}

# 6. Function: arm64, provided.al2023, 1024 MB, 30 s, reserved concurrency 100,
# X-Ray Active, environment encrypted with the key, logs to the log group above.
resource "aws_lambda_function" "main" {
  function_name                  = local.name
  role                           = aws_iam_role.main.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = ["arm64"]
  memory_size                    = 1024
  timeout                        = 30
  reserved_concurrent_executions = 100
  filename                       = var.handler_zip
  source_code_hash               = filebase64sha256(var.handler_zip)
  kms_key_arn                    = aws_kms_key.main.arn

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = {
      TABLE_NAME         = aws_dynamodb_table.main.name
      ENVIRONMENT_SUFFIX = var.suffix
      LOG_LEVEL          = "info"
    }
  }

  tags = local.tags

  # Like webhook-stack: the log group exists first (with our retention and
  # key), and the role has its policy before the function uses it.
  depends_on = [aws_cloudwatch_log_group.main, aws_iam_role_policy.main]
}

output "LambdaFunctionName" { value = aws_lambda_function.main.function_name }
output "LambdaFunctionArn" { value = aws_lambda_function.main.arn }
output "DynamoDBTableName" { value = aws_dynamodb_table.main.name }
output "DynamoDBTableArn" { value = aws_dynamodb_table.main.arn }
output "KMSKeyId" { value = aws_kms_key.main.key_id }
output "KMSKeyArn" { value = aws_kms_key.main.arn }
output "KMSKeyAlias" { value = aws_kms_alias.main.name }
output "LogGroupName" { value = aws_cloudwatch_log_group.main.name }
output "IAMRoleName" { value = aws_iam_role.main.name }
output "IAMRoleArn" { value = aws_iam_role.main.arn }
