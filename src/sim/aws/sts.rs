//! STS: who the caller is.

use super::{Answer, World};
use aws_sdk_sts::operation::get_caller_identity::{
    GetCallerIdentityInput, GetCallerIdentityOutput,
};

operations!(aws_sdk_sts, "sts":
    GetCallerIdentity: get_caller_identity::{GetCallerIdentityInput, GetCallerIdentityError} => get_caller_identity,
);

fn get_caller_identity(
    w: &mut World,
    _: &GetCallerIdentityInput,
) -> Answer<GetCallerIdentityOutput> {
    Ok(GetCallerIdentityOutput::builder()
        .account(&w.account)
        .arn(format!("arn:aws:iam::{}:user/sim", w.account))
        .user_id("AIDASIMULATED")
        .build())
}
