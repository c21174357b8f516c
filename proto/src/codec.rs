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
        self.0.decode(buf).map_err(|s| Status::invalid_argument(format!("malformed protobuf message: {}", s.message())))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
