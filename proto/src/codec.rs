//! The protobuf codec of every platform.v1 service: tonic-prost's, except that a request
//! that fails to decode is the client's fault (INVALID_ARGUMENT), not ours.
//!
//! tonic maps protobuf decode errors to INTERNAL, following grpc's status-code guide. Our
//! rule is that no client input produces INTERNAL, so a malformed message (truncated bytes,
//! invalid UTF-8 in a string, a wrong wire type) is reported as what it is.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Set as `codec_path` in build.rs, so generated clients and servers use it.
#[derive(Debug, Clone)]
pub struct PlatformCodec<T, U> {
    inner: ProstCodec<T, U>,
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Default for PlatformCodec<T, U> {
    fn default() -> Self {
        Self { inner: ProstCodec::default(), _pd: PhantomData }
    }
}

impl<T, U> Codec for PlatformCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CheckedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CheckedDecoder(self.inner.decoder())
    }
}

/// Decodes like prost, reporting undecodable bytes as INVALID_ARGUMENT.
#[derive(Debug)]
pub struct CheckedDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for CheckedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|s| Status::invalid_argument(decode_error_message(s.message())))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// Words a decode failure for the person who sent it. The one that well-formed JSON can cause
/// (too deep a value) gets a sentence of its own rather than the decoder's internals.
fn decode_error_message(decoder: &str) -> String {
    if decoder.contains("recursion limit") {
        format!("the request nests too deeply: JSON values may nest at most {} levels", crate::JSON_MAX_DEPTH)
    } else {
        format!("malformed protobuf message: {decoder}")
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    #[test]
    fn too_deep_a_value_is_worded_for_people() {
        // 60 levels of lists: more than the decoder's 100 message levels.
        let mut v = prost_types::Value { kind: Some(prost_types::value::Kind::NumberValue(1.0)) };
        for _ in 0..60 {
            v = prost_types::Value {
                kind: Some(prost_types::value::Kind::ListValue(prost_types::ListValue { values: vec![v] })),
            };
        }
        let err = prost_types::Value::decode(v.encode_to_vec().as_slice()).unwrap_err();
        let message = decode_error_message(&err.to_string());
        assert_eq!(message, "the request nests too deeply: JSON values may nest at most 32 levels");
        assert!(decode_error_message("buffer underflow").starts_with("malformed protobuf message"));
    }
}
