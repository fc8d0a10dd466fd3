//! Checks the shape of what a client sends before yrs decodes it: every count must fit in the
//! bytes that follow it, and values may nest only so deep.
//!
//! yrs reserves room for the counts it reads (`try_reserve`), which only fails for impossible
//! sizes: a hash map of 2^29 entries is allocated and its control bytes written, so a 7-byte
//! frame used to cost 1 GiB and half a second (found by `fuzz/`, target `ws_frame`). Values
//! nested a million deep would overflow yrs's recursive decoder's stack. Walking the encoding
//! here, without allocating, refuses both before yrs sees them. What Ruche's documents never
//! hold (subdocuments, weak links, the JSON content of Yjs before version 13) is refused too.

/// Values nested deeper than this (arrays in maps in arrays…) are refused.
const MAX_DEPTH: usize = 64;

/// Why a payload was refused.
#[derive(Debug, PartialEq, Eq)]
pub struct BadShape;

type Checked = Result<(), BadShape>;

/// A cursor over lib0's v1 encoding that only skips.
struct Bytes<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Bytes<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, BadShape> {
        let b = *self.buf.get(self.pos).ok_or(BadShape)?;
        self.pos += 1;
        Ok(b)
    }

    fn skip(&mut self, n: u64) -> Checked {
        let n = usize::try_from(n).map_err(|_| BadShape)?;
        if n > self.left() {
            return Err(BadShape);
        }
        self.pos += n;
        Ok(())
    }

    /// A variable-length integer (signed ones end the same way), at most 64 bits.
    fn var(&mut self) -> Result<u64, BadShape> {
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift < 64 {
                value |= u64::from(b & 0x7f) << shift;
            }
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(BadShape)
    }

    /// A number yrs reads as 32 bits (clocks, lengths, counts): larger ones would wrap.
    fn var32(&mut self) -> Result<u64, BadShape> {
        let n = self.var()?;
        if n > u64::from(u32::MAX) {
            return Err(BadShape);
        }
        Ok(n)
    }

    /// A count of things that take at least `each` bytes: no more than the bytes left allow.
    fn count(&mut self, each: u64) -> Result<u64, BadShape> {
        let n = self.var32()?;
        let room = u64::try_from(self.left()).map_err(|_| BadShape)?;
        if n.saturating_mul(each) > room {
            return Err(BadShape);
        }
        Ok(n)
    }

    /// A length-prefixed buffer or string.
    fn buf(&mut self) -> Checked {
        self.bytes().map(|_| ())
    }

    fn bytes(&mut self) -> Result<&'a [u8], BadShape> {
        let len = self.var32()?;
        let start = self.pos;
        self.skip(len)?;
        Ok(&self.buf[start..self.pos])
    }

    fn id(&mut self) -> Checked {
        self.var()?;
        self.var()?;
        Ok(())
    }
}

/// A v1 update (sync step 2, update).
pub fn update(payload: &[u8]) -> Checked {
    let mut b = Bytes::new(payload);
    // Each client: a count of blocks, its id, its first clock.
    // Each author once: yrs appends a second list of the same author's blocks to the first,
    // clocks running backwards (found by fuzzing: crash-state-with-backward-range).
    let mut clients = std::collections::HashSet::new();
    for _ in 0..b.count(3)? {
        let blocks = b.count(1)?;
        if !clients.insert(b.var()?) {
            return Err(BadShape);
        }
        // Each block's clock follows the one before it: past 32 bits, yrs's clocks wrap and
        // it writes blocks it cannot read back (found by fuzzing).
        let mut clock = b.var32()?;
        for _ in 0..blocks {
            clock += block(&mut b)?;
            if clock > u64::from(u32::MAX) {
                return Err(BadShape);
            }
        }
    }
    // The delete set: clients, each with ranges (a clock and a length).
    for _ in 0..b.count(2)? {
        b.var()?;
        for _ in 0..b.count(2)? {
            if b.var32()? + b.var32()? > u64::from(u32::MAX) {
                return Err(BadShape);
            }
        }
    }
    Ok(())
}

/// One block; answers its length in clock units.
fn block(b: &mut Bytes<'_>) -> Result<u64, BadShape> {
    const GC: u8 = 0;
    const SKIP: u8 = 10;
    const HAS_ORIGIN: u8 = 0b1000_0000;
    const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
    const HAS_PARENT_SUB: u8 = 0b0010_0000;
    let info = b.byte()?;
    if info == GC || info == SKIP {
        return b.var32();
    }
    if info & HAS_ORIGIN != 0 {
        b.id()?;
    }
    if info & HAS_RIGHT_ORIGIN != 0 {
        b.id()?;
    }
    if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
        // The parent: a root type by name, or an item by id; then maybe a map key.
        if b.var()? == 1 {
            b.buf()?;
        } else {
            b.id()?;
        }
        if info & HAS_PARENT_SUB != 0 {
            b.buf()?;
        }
    }
    Ok(match info & 0b1111 {
        1 => b.var32()?, // deleted: a length
        // JSON content (2) is only written by Yjs before version 13, and yrs reads one string
        // more than it writes: such an update could not be stored and read back. Refused.
        4 => {
            // A string counts its UTF-16 units, as the browser does.
            let text = std::str::from_utf8(b.bytes()?).map_err(|_| BadShape)?;
            text.encode_utf16().count() as u64
        }
        3 | 5 => {
            b.buf()?; // binary, embed (JSON text)
            1
        }
        6 => {
            b.buf()?; // format: key, value as JSON text
            b.buf()?;
            1
        }
        7 => {
            match b.byte()? {
                // A shared type: array, map, text, XML fragment/hook/text, undefined; an XML
                // element carries its name. Weak links and others are not in Ruche's documents.
                0..=2 | 4..=6 | 15 => {}
                3 => b.buf()?,
                _ => return Err(BadShape),
            }
            1
        }
        8 => {
            let n = b.count(1)?;
            for _ in 0..n {
                any(b, 0)?;
            }
            n
        }
        // Subdocuments (9) and anything else: not in Ruche's documents.
        _ => return Err(BadShape),
    })
}

/// lib0's binary `Any`.
fn any(b: &mut Bytes<'_>, depth: usize) -> Checked {
    if depth > MAX_DEPTH {
        return Err(BadShape);
    }
    match b.byte()? {
        127 | 126 | 121 | 120 => Ok(()), // undefined, null, false, true
        125 => b.var().map(|_| ()),      // integer
        124 => b.skip(4),                // float32
        123 | 122 => b.skip(8),          // float64, bigint
        119 | 116 => b.buf(),            // string, buffer
        118 => {
            // A map: each entry a key and a value.
            for _ in 0..b.count(2)? {
                b.buf()?;
                any(b, depth + 1)?;
            }
            Ok(())
        }
        117 => {
            for _ in 0..b.count(1)? {
                any(b, depth + 1)?;
            }
            Ok(())
        }
        _ => Err(BadShape),
    }
}

/// A state vector (sync step 1): pairs of client and clock.
pub fn state_vector(payload: &[u8]) -> Checked {
    let mut b = Bytes::new(payload);
    for _ in 0..b.count(2)? {
        b.id()?;
    }
    Ok(())
}

/// An awareness update: client, clock and a JSON text each.
pub fn awareness(payload: &[u8]) -> Checked {
    let mut b = Bytes::new(payload);
    for _ in 0..b.count(3)? {
        b.var()?;
        b.var()?;
        b.buf()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use yrs::{
        updates::encoder::Encode, Any, Array, Doc, GetString, Map, ReadTxn, Text, Transact,
        XmlFragment,
    };

    use super::*;

    #[test]
    fn what_real_documents_hold_passes() {
        let doc = Doc::new();
        let body = doc.get_or_insert_text("body");
        let fields = doc.get_or_insert_map("fields");
        let list = doc.get_or_insert_array("list");
        let xml = doc.get_or_insert_xml_fragment("xml");
        {
            let mut txn = doc.transact_mut();
            body.insert(&mut txn, 0, "Bonjour, coopération 👋");
            body.remove_range(&mut txn, 0, 3);
            body.format(&mut txn, 0, 2, [("bold".into(), Any::Bool(true))].into());
            fields.insert(&mut txn, "lieu", "Lyon");
            fields.insert(
                &mut txn,
                "dates",
                Any::from_json(r#"{"start":"2026-11-23","n":[1,2.5,null,true]}"#).unwrap(),
            );
            list.push_back(&mut txn, Any::Buffer(vec![1u8, 2, 3].into()));
            list.push_back(&mut txn, -42i64);
            xml.push_back(&mut txn, yrs::XmlElementPrelim::empty("p"));
            xml.push_back(&mut txn, yrs::XmlTextPrelim::new("texte"));
        }
        let txn = doc.transact();
        assert_eq!(update(&txn.encode_state_as_update_v1(&Default::default())), Ok(()));
        assert_eq!(state_vector(&txn.state_vector().encode_v1()), Ok(()));
        assert_eq!(body.get_string(&txn), "jour, coopération 👋");
    }

    #[test]
    fn counts_beyond_the_bytes_left_are_refused() {
        // 2^29 clients in a 5-byte payload: yrs would reserve a map that large.
        let huge = [0x80, 0x80, 0x80, 0x80, 0x02];
        assert_eq!(update(&huge), Err(BadShape));
        assert_eq!(state_vector(&huge), Err(BadShape));
        assert_eq!(awareness(&huge), Err(BadShape));
        // An `Any` map of 2^28 entries inside an otherwise good block.
        let block = [
            1,
            1,
            1,
            0,
            0b0000_1000,
            1,
            4,
            b'b',
            b'o',
            b'd',
            b'y',
            1,
            118,
            0x80,
            0x80,
            0x80,
            0x80,
            0x01,
        ];
        assert_eq!(update(&block), Err(BadShape));
    }

    #[test]
    fn clocks_past_32_bits_are_refused() {
        // One client, two GC blocks: 1 unit from clock 0, then 2^32 - 1 units.
        let mut payload = vec![1, 2, 1, 0, 0, 1, 0];
        payload.extend([0xff, 0xff, 0xff, 0xff, 0x0f, 0]);
        assert_eq!(update(&payload), Err(BadShape));
        payload[5] = 0; // the first one empty: the second fits
        assert_eq!(update(&payload), Ok(()));
        // A length that does not fit in 32 bits at all.
        assert_eq!(update(&[1, 1, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x1f, 0]), Err(BadShape));
    }

    #[test]
    fn an_author_listed_twice_is_refused() {
        // Two lists of blocks for client 1: GC 0..2, then GC from clock 1 again.
        assert_eq!(update(&[2, 1, 1, 0, 0, 2, 1, 1, 1, 0, 1, 0]), Err(BadShape));
        assert_eq!(update(&[2, 1, 1, 0, 0, 2, 1, 2, 1, 0, 1, 0]), Ok(()));
    }

    #[test]
    fn values_nested_too_deep_are_refused() {
        let mut payload = vec![1, 1, 1, 0, 0b0000_1000, 1, 4, b'b', b'o', b'd', b'y', 1];
        payload.extend(std::iter::repeat_n([117u8, 1], 100_000).flatten());
        payload.push(126);
        payload.push(0);
        assert_eq!(update(&payload), Err(BadShape));
    }
}
