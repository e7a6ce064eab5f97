use super::*;

fn read(buf: &mut BytesMut, max_fields: usize) -> Head {
    Reader::default().read(buf, max_fields, 16 * 1024)
}

fn buf(text: &str) -> BytesMut {
    BytesMut::from(text.as_bytes())
}

#[test]
fn a_plain_get_is_read_and_taken_out_leaving_the_next_request() {
    let mut b = buf(
        "GET /api/items/42?a=1 HTTP/1.1\r\nHost: app\r\nX-API-Key: k1\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\nGET /next",
    );
    let Head::Request { request, close } = read(&mut b, 100) else {
        panic!("not read")
    };
    assert!(!close);
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri(), "/api/items/42?a=1");
    assert_eq!(request.version(), Version::HTTP_11);
    assert_eq!(request.headers()["host"], "app");
    assert_eq!(request.headers()["x-api-key"], "k1");
    let dup: Vec<_> = request.headers().get_all("x-dup").iter().collect();
    assert_eq!(dup, ["1", "2"]);
    assert_eq!(&b[..], b"GET /next");
    assert!(matches!(read(&mut b, 100), Head::Partial));
    assert_eq!(&b[..], b"GET /next");
}

#[test]
fn connection_close_is_reported_and_keep_alive_is_plain() {
    let mut b = buf("DELETE /x HTTP/1.1\r\nConnection: Close\r\n\r\n");
    assert!(matches!(
        read(&mut b, 100),
        Head::Request { close: true, .. }
    ));
    let mut b = buf("GET /x HTTP/1.1\r\nconnection: keep-alive\r\n\r\n");
    assert!(matches!(
        read(&mut b, 100),
        Head::Request { close: false, .. }
    ));
}

#[test]
fn everything_unusual_is_left_whole_for_hyper() {
    let cases = [
        "GET /x HTTP/1.0\r\n\r\n",
        "HEAD /x HTTP/1.1\r\n\r\n",
        "CONNECT app:443 HTTP/1.1\r\n\r\n",
        "GET http://app/x HTTP/1.1\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\n\r\n",
        "GET /api#/admin HTTP/1.1\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        "POST /x HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello",
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        "GET /x HTTP/1.1\r\nConnection: keep-alive, TE\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n",
        "GET /x HTTP/1.1\r\nX: a\x01b\r\n\r\n",
        "G@T /x HTTP/1.1\r\n\r\n",
        "GET /x\x7f HTTP/1.1\r\n\r\n",
        "GET /x HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
    ];
    for text in cases {
        let mut b = buf(text);
        assert!(matches!(read(&mut b, 2), Head::Other), "{text:?}");
        assert_eq!(&b[..], text.as_bytes(), "{text:?}");
    }
}

#[test]
fn a_head_refused_after_it_was_cut_out_is_put_back_in_front() {
    // httparse takes this target; `Uri` does not: the bytes must come back in order.
    let text = "GET /a<b HTTP/1.1\r\nHost: app\r\n\r\nGET /next HTTP/1.1\r\n";
    let mut b = buf(text);
    assert!(matches!(read(&mut b, 100), Head::Other));
    assert_eq!(&b[..], text.as_bytes());
}

#[test]
fn a_head_in_pieces_is_partial_until_whole() {
    let text = "GET /x HTTP/1.1\r\nHost: app\r\n\r\n";
    for cut in 1..text.len() {
        let mut b = buf(&text[..cut]);
        assert!(matches!(read(&mut b, 100), Head::Partial), "{cut}");
        assert_eq!(b.len(), cut);
        b.extend_from_slice(&text.as_bytes()[cut..]);
        assert!(matches!(read(&mut b, 100), Head::Request { .. }), "{cut}");
        assert!(b.is_empty());
    }
}

#[test]
fn a_whole_head_over_the_byte_limit_is_left_for_hyper() {
    let text = format!("GET /x HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(100));
    let mut b = buf(&text);
    assert!(matches!(
        Reader::default().read(&mut b, 100, 100),
        Head::Other
    ));
    assert_eq!(&b[..], text.as_bytes());
    assert!(matches!(
        Reader::default().read(&mut b, 100, text.len()),
        Head::Request { .. }
    ));
}
