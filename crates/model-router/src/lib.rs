//! Reads a routing flag and returns the model id to call.
