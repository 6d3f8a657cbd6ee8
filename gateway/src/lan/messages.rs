//! Every string the staff console shows, in English and Thai. A page asks for a key; a key
//! missing from a language falls back to English, and a test keeps both catalogues complete.

/// A console language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Th,
}

impl Lang {
    pub fn from_code(code: &str) -> Lang {
        match code {
            "th" => Lang::Th,
            _ => Lang::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Th => "th",
        }
    }
}

pub(super) const EN: &[(&str, &str)] = &[
    ("app.name", "Pathway"),
    ("nav.today", "Today's sessions"),
    ("nav.people", "Find a person"),
    ("nav.logout", "Log out"),
    ("lang.label", "Language"),
    ("login.title", "Log in"),
    ("login.username", "Username"),
    ("login.password", "Password"),
    ("login.submit", "Log in"),
    (
        "login.failed",
        "The username or password is wrong, or the account is locked for a while.",
    ),
    ("today.title", "Sessions"),
    ("today.today", "Today"),
    ("today.recent", "Still open for marking (last 7 days)"),
    ("today.none", "No sessions."),
    ("today.run", "Programme run"),
    ("today.date", "Date"),
    ("today.time", "Time"),
    ("today.mark", "Mark attendance"),
    ("session.title", "Attendance"),
    ("session.person", "Person"),
    ("session.outcome", "Outcome"),
    ("session.save", "Save attendance"),
    ("session.saved", "Attendance saved."),
    ("session.nobody", "Nobody is allocated to this run yet."),
    ("outcome.attended", "Attended"),
    ("outcome.absent_excused", "Absent (excused)"),
    ("outcome.absent_unexcused", "Absent (unexcused)"),
    ("outcome.refused", "Refused"),
    ("outcome.cancelled", "Cancelled"),
    ("people.title", "Find a person"),
    ("people.query", "Person id or prison number"),
    ("people.search", "Search"),
    ("people.none", "Nobody found."),
    ("case.prison_number", "Prison number"),
    ("case.release", "Expected release"),
    ("case.needs", "Needs"),
    ("case.notes", "Case notes"),
    ("case.no_notes", "No notes yet."),
    ("case.restricted_mark", "restricted"),
    ("case.add_note", "Add a case note"),
    ("case.note_text", "Note"),
    ("case.note_type", "Type"),
    (
        "case.restricted",
        "Restricted (case officer and manager only)",
    ),
    ("case.save_note", "Save note"),
    ("case.note_saved", "Note saved."),
    ("case.referrals", "Referrals"),
    ("case.no_referrals", "No referrals."),
    ("case.move_to", "Move to"),
    ("case.moved", "Referral moved on."),
    ("referral.requested", "Requested"),
    ("referral.accepted", "Accepted"),
    ("referral.in_progress", "In progress"),
    ("referral.completed", "Completed"),
    ("referral.declined", "Declined"),
    ("referral.cancelled", "Cancelled"),
    ("notetype.general", "General"),
    ("notetype.education", "Education"),
    ("notetype.work", "Work"),
    ("notetype.resettlement", "Resettlement"),
    ("notetype.safeguarding", "Safeguarding"),
    ("notetype.health", "Health"),
    ("sync.never", "Not yet in contact with the hub"),
    ("sync.reached", "Last reached the hub {ago} ago"),
    ("sync.not_reached", "Nothing has reached the hub yet"),
    ("sync.waiting", "{n} changes waiting"),
    ("sync.waiting_one", "1 change waiting"),
    ("sync.nothing_waiting", "nothing waiting"),
    ("sync.online", "link up"),
    ("sync.offline", "link down; working offline"),
    ("unit.s", "{n} s"),
    ("unit.min", "{n} min"),
    ("unit.h", "{n} h"),
    ("unit.days", "{n} days"),
    ("error.title", "That did not work"),
    ("error.back", "Back"),
];

pub(super) const TH: &[(&str, &str)] = &[
    ("app.name", "Pathway"),
    ("nav.today", "กิจกรรมวันนี้"),
    ("nav.people", "ค้นหาบุคคล"),
    ("nav.logout", "ออกจากระบบ"),
    ("lang.label", "ภาษา"),
    ("login.title", "เข้าสู่ระบบ"),
    ("login.username", "ชื่อผู้ใช้"),
    ("login.password", "รหัสผ่าน"),
    ("login.submit", "เข้าสู่ระบบ"),
    ("login.failed", "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง หรือบัญชีถูกระงับชั่วคราว"),
    ("today.title", "กิจกรรม"),
    ("today.today", "วันนี้"),
    ("today.recent", "ยังบันทึกได้ (7 วันที่ผ่านมา)"),
    ("today.none", "ไม่มีกิจกรรม"),
    ("today.run", "หลักสูตร"),
    ("today.date", "วันที่"),
    ("today.time", "เวลา"),
    ("today.mark", "บันทึกการเข้าร่วม"),
    ("session.title", "การเข้าร่วม"),
    ("session.person", "บุคคล"),
    ("session.outcome", "ผล"),
    ("session.save", "บันทึกการเข้าร่วม"),
    ("session.saved", "บันทึกการเข้าร่วมแล้ว"),
    ("session.nobody", "ยังไม่มีผู้ได้รับที่นั่งในหลักสูตรนี้"),
    ("outcome.attended", "เข้าร่วม"),
    ("outcome.absent_excused", "ขาด (มีเหตุผล)"),
    ("outcome.absent_unexcused", "ขาด (ไม่มีเหตุผล)"),
    ("outcome.refused", "ปฏิเสธ"),
    ("outcome.cancelled", "ยกเลิก"),
    ("people.title", "ค้นหาบุคคล"),
    ("people.query", "รหัสบุคคลหรือเลขประจำตัวผู้ต้องขัง"),
    ("people.search", "ค้นหา"),
    ("people.none", "ไม่พบบุคคล"),
    ("case.prison_number", "เลขประจำตัวผู้ต้องขัง"),
    ("case.release", "กำหนดพ้นโทษ"),
    ("case.needs", "ความต้องการ"),
    ("case.notes", "บันทึกรายกรณี"),
    ("case.no_notes", "ยังไม่มีบันทึก"),
    ("case.restricted_mark", "จำกัดการเข้าถึง"),
    ("case.add_note", "เพิ่มบันทึกรายกรณี"),
    ("case.note_text", "บันทึก"),
    ("case.note_type", "ประเภท"),
    (
        "case.restricted",
        "จำกัดการเข้าถึง (เฉพาะเจ้าหน้าที่รายกรณีและผู้บริหาร)",
    ),
    ("case.save_note", "บันทึก"),
    ("case.note_saved", "บันทึกแล้ว"),
    ("case.referrals", "การส่งต่อ"),
    ("case.no_referrals", "ไม่มีการส่งต่อ"),
    ("case.move_to", "เปลี่ยนเป็น"),
    ("case.moved", "ปรับสถานะการส่งต่อแล้ว"),
    ("referral.requested", "ส่งคำขอแล้ว"),
    ("referral.accepted", "รับแล้ว"),
    ("referral.in_progress", "กำลังดำเนินการ"),
    ("referral.completed", "เสร็จสิ้น"),
    ("referral.declined", "ปฏิเสธ"),
    ("referral.cancelled", "ยกเลิก"),
    ("notetype.general", "ทั่วไป"),
    ("notetype.education", "การศึกษา"),
    ("notetype.work", "การทำงาน"),
    ("notetype.resettlement", "การกลับคืนสู่สังคม"),
    ("notetype.safeguarding", "การคุ้มครอง"),
    ("notetype.health", "สุขภาพ"),
    ("sync.never", "ยังไม่เคยติดต่อกับศูนย์กลาง"),
    ("sync.reached", "ส่งถึงศูนย์กลางล่าสุดเมื่อ {ago} ที่แล้ว"),
    ("sync.not_reached", "ยังไม่มีข้อมูลถึงศูนย์กลาง"),
    ("sync.waiting", "รอส่ง {n} รายการ"),
    ("sync.waiting_one", "รอส่ง 1 รายการ"),
    ("sync.nothing_waiting", "ไม่มีรายการรอส่ง"),
    ("sync.online", "เชื่อมต่ออยู่"),
    ("sync.offline", "ไม่มีการเชื่อมต่อ ทำงานแบบออฟไลน์"),
    ("unit.s", "{n} วินาที"),
    ("unit.min", "{n} นาที"),
    ("unit.h", "{n} ชั่วโมง"),
    ("unit.days", "{n} วัน"),
    ("error.title", "ทำรายการไม่สำเร็จ"),
    ("error.back", "กลับ"),
];

/// The text for `key` in `lang`, or in English, or the key itself.
pub fn t(lang: Lang, key: &str) -> &'static str {
    let find = |c: &'static [(&'static str, &'static str)]| {
        c.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    };
    let found = match lang {
        Lang::En => find(EN),
        Lang::Th => find(TH).or_else(|| find(EN)),
    };
    found.unwrap_or("?")
}

/// [`t`] with `{name}` placeholders filled.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = t(lang, key).to_owned();
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_catalogues_have_every_key() {
        fn keys(c: &[(&'static str, &'static str)]) -> Vec<&'static str> {
            let mut k: Vec<&str> = c.iter().map(|(k, _)| *k).collect();
            k.sort();
            k
        }
        assert_eq!(keys(EN), keys(TH));
        let mut unique = keys(EN);
        unique.dedup();
        assert_eq!(unique.len(), EN.len(), "a key is listed twice");
        assert_eq!(
            tf(Lang::Th, "sync.waiting", &[("n", "41")]),
            "รอส่ง 41 รายการ"
        );
    }
}
