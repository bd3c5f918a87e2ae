//! Price catalog (being written).
