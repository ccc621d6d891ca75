//! The function's answer, in the seed's `{"statusCode", "body"}` shape. A Lambda function
//! URL or API Gateway turns it into an HTTP response; a direct invoke returns it as is.

use serde::Serialize;

use crate::rejection::Rejection;
use crate::store::Outcome;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub status_code: u16,
    /// A JSON document, as a string.
    pub body: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Accepted<'a> {
    transaction_id: &'a str,
    result: &'static str,
}

#[derive(Serialize)]
struct Refused<'a> {
    error: &'static str,
    field: &'static str,
    message: &'a str,
}

impl Response {
    /// 200 `{"transactionId":…,"result":"recorded|duplicate|stale"}`: every outcome is a
    /// success for the sender, which must not retry a duplicate or a stale event.
    pub fn accepted(transaction_id: &str, outcome: Outcome) -> Response {
        Response::json(
            200,
            &Accepted {
                transaction_id,
                result: outcome.as_str(),
            },
        )
    }

    /// 400 `{"error":"validation_failed","field":…,"message":…}`.
    pub fn rejected(rejection: &Rejection) -> Response {
        Response::json(
            400,
            &Refused {
                error: "validation_failed",
                field: rejection.field,
                message: &rejection.message,
            },
        )
    }

    fn json(status_code: u16, body: &impl Serialize) -> Response {
        // Serialising these two plain structs cannot fail.
        let body = serde_json::to_string(body).expect("response body serialises");
        Response { status_code, body }
    }
}
