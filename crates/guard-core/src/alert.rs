//! Alert parsing (being written).
