//! What things cost: the price catalog, the AWS Price List read into it, application inference
//! profiles priced as their models, a policy's estimate, and the deployed stack's running cost.

pub mod catalog;
pub mod estimate;
pub mod inference_profile;
pub mod price_list;
pub mod running_cost;
