//! Account-level limits checked before anything is created: Lambda's
//! concurrency (the stack reserves 100 executions for the function, and AWS
//! refuses a reservation that leaves fewer than 100 unreserved).

use super::errors::{aws_error, AwsError};
use super::Aws;

/// AWS keeps at least this many of an account's concurrent executions
/// unreserved ("UnreservedConcurrentExecution below its minimum value of
/// [100]").
pub const MIN_UNRESERVED: i32 = 100;

/// The account's Lambda concurrency: its limit, and what is not reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    pub limit: i32,
    pub unreserved: i32,
}

/// `GetAccountSettings`. `Ok(None)` where the endpoint does not serve it
/// (the local emulator): nothing can be checked then. Through
/// `Aws::lambda_concurrency`, once per run.
pub(super) async fn ask_lambda_concurrency(aws: &Aws) -> Result<Option<Concurrency>, AwsError> {
    match aws.lambda.get_account_settings().send().await {
        Ok(out) => Ok(out.account_limit().map(|l| Concurrency {
            limit: l.concurrent_executions(),
            unreserved: l.unreserved_concurrent_executions().unwrap_or(0),
        })),
        Err(e) => {
            let e = aws_error("GetAccountSettings")(e);
            // Not implemented here (e.g. moto: a 404 with no AWS error).
            if e.code.is_none() {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// Why reserving `wanted` (with `current` reserved today) would fail, if it
/// would.
pub fn reservation_problem(c: Concurrency, current: Option<i32>, wanted: i32) -> Option<String> {
    let left = c.unreserved + current.unwrap_or(0) - wanted;
    if wanted == 0 || left >= MIN_UNRESERVED {
        return None;
    }
    let most = (c.unreserved + current.unwrap_or(0) - MIN_UNRESERVED).max(0);
    Some(format!(
        "reserving {wanted} concurrent executions for the function would leave {left} unreserved in this account \
         (its Lambda concurrency limit is {limit}, and AWS keeps at least {MIN_UNRESERVED} unreserved), so apply \
         would fail at PutFunctionConcurrency. Give --reserved-concurrency {most} or less (none reserves nothing), \
         or ask AWS for a higher Lambda concurrent-executions quota",
        limit = c.limit
    ))
}

/// AWS's own answer to such a reservation, explained: what the limit is and
/// which option changes the request.
pub fn explain_reservation_error(e: AwsError, wanted: i32) -> AwsError {
    if e.code.as_deref() == Some("InvalidParameterValueException")
        && e.message.contains("UnreservedConcurrentExecution")
    {
        AwsError {
            message: format!(
                "{} This account's Lambda concurrency cannot spare {wanted} reserved executions: AWS keeps at least \
                 {MIN_UNRESERVED} of its limit unreserved. Lower --reserved-concurrency (none reserves nothing), or ask AWS \
                 for a higher Lambda concurrent-executions quota (Service Quotas, \"Concurrent executions\").",
                e.message
            ),
            ..e
        }
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_that_leaves_less_than_the_minimum_is_named() {
        // A new account: limit 150 (some new accounts start low), nothing reserved.
        let small = Concurrency {
            limit: 150,
            unreserved: 150,
        };
        let p = reservation_problem(small, None, 100).unwrap();
        assert!(p.contains("would leave 50 unreserved"), "{p}");
        assert!(p.contains("--reserved-concurrency 50 or less"), "{p}");
        assert_eq!(reservation_problem(small, None, 50), None);
        assert_eq!(reservation_problem(small, None, 0), None);
        // The function's own reservation today counts as freed.
        let reserved = Concurrency {
            limit: 150,
            unreserved: 100,
        };
        assert_eq!(reservation_problem(reserved, Some(50), 50), None);
        assert!(reservation_problem(reserved, Some(50), 60).is_some());
        // The usual limit of 1000.
        let usual = Concurrency {
            limit: 1000,
            unreserved: 1000,
        };
        assert_eq!(reservation_problem(usual, None, 100), None);
    }

    #[test]
    fn aws_s_refusal_is_explained_and_other_errors_are_left_alone() {
        let refusal = AwsError {
            operation: "PutFunctionConcurrency",
            code: Some("InvalidParameterValueException".into()),
            message: "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].".into(),
        };
        let e = explain_reservation_error(refusal, 100);
        assert!(e.message.contains("Lower --reserved-concurrency"), "{e}");
        let other = AwsError {
            operation: "PutFunctionConcurrency",
            code: Some("ResourceNotFoundException".into()),
            message: "Function not found".into(),
        };
        assert_eq!(
            explain_reservation_error(other.clone(), 100).message,
            other.message
        );
    }
}
