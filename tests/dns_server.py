"""A real DNS server on loopback for the tests: authoritative answers from a dict, every query recorded.

Built on dnspython's own message pieces (the console's resolver library): UDP on 127.0.0.1, a random
port; A, AAAA and CNAME records (a CNAME is followed within the zone, as an authoritative server
does); NXDOMAIN for a name it does not hold.
"""

from __future__ import annotations

import socket
import threading

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset


class LoopbackDns:
    def __init__(self) -> None:
        self.records: dict[str, list[tuple[str, str]]] = {}  # name -> [(type, value)]
        self.queries: list[str] = []  # names asked, in order
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        # Closing a socket does not wake a thread blocked reading it: the server looks up now and then.
        self._socket.settimeout(0.2)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="loopback-dns", daemon=True)
        self._stopped = False

    def start(self) -> LoopbackDns:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        self._thread.join(timeout=5)
        self._socket.close()

    def add(self, name: str, rdtype: str, value: str) -> None:
        with self._lock:
            self.records.setdefault(name.lower().rstrip("."), []).append((rdtype, value))

    def clear(self) -> None:
        with self._lock:
            self.records.clear()
            self.queries.clear()

    def asked(self, name: str) -> bool:
        with self._lock:
            return name.lower() in self.queries

    def _serve(self) -> None:
        while not self._stopped:
            try:
                data, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue
            self._socket.sendto(self._answer(query).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        wanted = dns.rdatatype.to_text(question.rdtype)
        with self._lock:
            self.queries.append(name)
            if name not in self.records:
                response.set_rcode(dns.rcode.NXDOMAIN)
                return response
            current = name
            for _hop in range(8):
                records = self.records.get(current, [])
                cnames = [v for t, v in records if t == "CNAME"]
                if cnames and wanted != "CNAME":
                    response.answer.append(dns.rrset.from_text(current + ".", 60, "IN", "CNAME", cnames[0] + "."))
                    current = cnames[0].lower().rstrip(".")
                    continue
                values = [v for t, v in records if t == wanted]
                if values:
                    response.answer.append(dns.rrset.from_text_list(current + ".", 60, "IN", wanted, values))
                break
        return response
