//! The dashboard's words in English and Thai, and the language a request asks for (the
//! `pathway_lang` cookie).

use axum::http::HeaderMap;
use pathway_shared::model::Role;

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Lang {
    En,
    Th,
}

pub(super) fn lang(headers: &HeaderMap) -> Lang {
    match axum_extra::extract::CookieJar::from_headers(headers)
        .get("pathway_lang")
        .map(|c| c.value().to_owned())
        .as_deref()
    {
        Some("th") => Lang::Th,
        _ => Lang::En,
    }
}

/// The dashboard's words, English then Thai.
pub(super) fn t(l: Lang, key: &str) -> &'static str {
    let (en, th) = match key {
        "title" => ("Pathway national hub", "ศูนย์กลางระดับชาติ Pathway"),
        "login" => ("Log in", "เข้าสู่ระบบ"),
        "logout" => ("Log out", "ออกจากระบบ"),
        "username" => ("Username", "ชื่อผู้ใช้"),
        "password" => ("Password", "รหัสผ่าน"),
        "wrong" => ("Wrong username or password.", "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"),
        "wait" => (
            "Too many failed log-ins for this username. Try again in",
            "เข้าสู่ระบบผิดหลายครั้งเกินไปสำหรับชื่อผู้ใช้นี้ ลองใหม่อีกครั้งใน",
        ),
        "seconds" => ("seconds.", "วินาที"),
        "nav_indicators" => ("Indicators", "ตัวชี้วัด"),
        "follow_ups" => ("Follow-ups", "การติดตามผล"),
        "follow_ups_why" => (
            "Six weeks after release, record where each person lives and whether they work, study or train: the release indicators count it.",
            "หกสัปดาห์หลังการปล่อยตัว บันทึกที่พักและการทำงานหรือการศึกษาของแต่ละคน ตัวชี้วัดการปล่อยตัวนับจากข้อมูลนี้",
        ),
        "released_in" => ("Released in", "ปล่อยตัวในเดือน"),
        "show" => ("Show", "แสดง"),
        "no_releases" => (
            "Nobody was released from this facility in this month.",
            "ไม่มีผู้ได้รับการปล่อยตัวจากเรือนจำนี้ในเดือนนี้",
        ),
        "released_on" => ("Released on", "ปล่อยตัวเมื่อ"),
        "due_on" => ("Follow-up due", "กำหนดติดตามผล"),
        "six_weeks_on" => ("Six weeks on", "หลัง 6 สัปดาห์"),
        "fu_accommodation" => ("Lives in", "ที่พัก"),
        "fu_acc_settled" => ("settled accommodation", "ที่พักถาวร"),
        "fu_acc_temporary" => ("temporary accommodation", "ที่พักชั่วคราว"),
        "fu_acc_none" => ("no accommodation", "ไม่มีที่พัก"),
        "fu_acc_unknown" => ("not known", "ไม่ทราบ"),
        "fu_ete" => ("Work, education or training", "งาน การศึกษา หรือการฝึกอบรม"),
        "fu_ete_yes" => ("yes", "มี"),
        "fu_ete_no" => ("no", "ไม่มี"),
        "fu_ete_unknown" => ("not known", "ไม่ทราบ"),
        "fu_on" => ("Learnt on", "ทราบเมื่อ"),
        "fu_record" => ("Record", "บันทึก"),
        "fu_note" => ("Note", "หมายเหตุ"),
        "fleet" => ("Facilities and their gateways", "เรือนจำและเกตเวย์"),
        "gateway" => ("Gateway", "เกตเวย์"),
        "facility" => ("Facility", "เรือนจำ"),
        "online" => ("Connected", "เชื่อมต่ออยู่"),
        "yes" => ("yes", "ใช่"),
        "no" => ("no", "ไม่"),
        "last_contact" => ("Last heard from", "ติดต่อครั้งล่าสุด"),
        "never" => ("never", "ไม่เคย"),
        "waiting" => ("Changes waiting to reach it", "รายการที่รอส่งไปถึง"),
        "waiting_short" => ("waiting to reach it:", "รอส่งไปถึง:"),
        "no_gateways" => (
            "No gateway is registered and none has connected. Register each gateway below after pathway enrol, once its facility is in the registry.",
            "ยังไม่มีเกตเวย์ที่ลงทะเบียนหรือเคยเชื่อมต่อ ลงทะเบียนเกตเวย์ด้านล่างหลังใช้คำสั่ง pathway enrol เมื่อเรือนจำอยู่ในทะเบียนแล้ว",
        ),
        "all_level" => (
            "Every gateway was level with the hub within the time its facility allows.",
            "เกตเวย์ทุกเครื่องมีข้อมูลตรงกับศูนย์กลางภายในเวลาที่เรือนจำกำหนด",
        ),
        "not_level_head" => (
            "Not level with the hub for longer than their facility allows (24 hours unless set)",
            "ข้อมูลไม่ตรงกับศูนย์กลางนานเกินกว่าที่เรือนจำกำหนด (24 ชั่วโมงหากไม่ได้ตั้ง)",
        ),
        "st_two_boxes" => (
            "ALERT: one certificate on two boxes",
            "แจ้งเตือน: ใบรับรองเดียวใช้อยู่บนสองเครื่อง",
        ),
        "two_boxes_do" => (
            "Two stores write as one node. Stop the copy and enrol it with its own bundle. Seen from:",
            "ฐานข้อมูลสองชุดเขียนในนามเดียวกัน ให้หยุดเครื่องที่เป็นสำเนาและลงทะเบียนใหม่ด้วยชุดของตนเอง เห็นจาก:",
        ),
        "st_not_level_for" => ("not level for", "ข้อมูลไม่ตรงมาแล้ว"),
        "st_never_connected" => ("never connected", "ไม่เคยเชื่อมต่อ"),
        "st_never_level" => ("never level", "ข้อมูลไม่เคยตรงกัน"),
        "st_offline" => ("offline (level lately)", "ออฟไลน์ (ข้อมูลตรงกันเมื่อไม่นานนี้)"),
        "st_online" => ("online", "ออนไลน์"),
        "level" => ("Last level with the hub", "ข้อมูลตรงกันครั้งล่าสุด"),
        "from_it" => ("Waiting to come from it", "รอรับจากเกตเวย์"),
        "as_reported" => ("as it reported", "ตามที่รายงานเมื่อ"),
        "not_reported" => (
            "not reported since the hub started",
            "ยังไม่รายงานตั้งแต่ศูนย์กลางเริ่มทำงาน",
        ),
        "oldest" => ("oldest made", "รายการเก่าสุดเมื่อ"),
        "counted" => ("counted", "นับเมื่อ"),
        "not_counted" => ("not counted yet", "ยังไม่ได้นับ"),
        "sent_to" => ("Sent to it, acknowledged", "ส่งถึงแล้ว (ยืนยัน)"),
        "received_from" => ("Received from it", "ได้รับจากเกตเวย์"),
        "link" => ("Link", "การเชื่อมต่อ"),
        "loss" => ("loss", "สูญหาย"),
        "refused_writes" => ("Refused writes", "การเขียนที่ถูกปฏิเสธ"),
        "refreshes" => (
            "This page refreshes itself every 30 seconds.",
            "หน้านี้รีเฟรชเองทุก 30 วินาที",
        ),
        "register_gateway" => ("Register a gateway", "ลงทะเบียนเกตเวย์"),
        "register_note" => (
            "After pathway enrol, register the gateway here so the fleet lists it before it first connects.",
            "หลังใช้คำสั่ง pathway enrol ให้ลงทะเบียนเกตเวย์ที่นี่ เพื่อให้รายการแสดงเกตเวย์ตั้งแต่ก่อนเชื่อมต่อครั้งแรก",
        ),
        "register" => ("Register", "ลงทะเบียน"),
        "reviews" => ("Review queue", "รายการที่ต้องตรวจสอบ"),
        "no_reviews" => ("Nothing waits for review.", "ไม่มีรายการรอตรวจสอบ"),
        "record" => ("Record", "เอกสาร"),
        "what" => ("What happened", "เกิดอะไรขึ้น"),
        "when" => ("Last", "ล่าสุด"),
        "times" => ("Times", "จำนวนครั้ง"),
        "mark" => ("Mark reviewed", "ทำเครื่องหมายว่าตรวจแล้ว"),
        "reviewed_by" => ("Reviewed by", "ตรวจแล้วโดย"),
        "edit_after_move" => (
            "Edited at a facility the person had left; merged",
            "แก้ไขที่เรือนจำเดิมหลังย้ายออก; รวมข้อมูลแล้ว",
        ),
        "transfer_not_made" => ("Transfer not made", "ย้ายไม่สำเร็จ"),
        "carried_by_hand" => (
            "Changes carried by hand on a courier file",
            "ข้อมูลที่นำส่งด้วยมือผ่านไฟล์นำส่ง",
        ),
        "audit_rewritten" => (
            "Refused: the facility's changes would rewrite its audit trail",
            "ปฏิเสธแล้ว: การเปลี่ยนแปลงจากเรือนจำจะเขียนทับบันทึกการตรวจสอบ",
        ),
        "catalogue" => ("Programme catalogue", "รายการหลักสูตร"),
        "code" => ("Code", "รหัส"),
        "programme" => ("Programme", "หลักสูตร"),
        "status" => ("Status", "สถานะ"),
        "offered" => ("offered", "เปิดสอน"),
        "withdrawn" => ("withdrawn", "ยกเลิกแล้ว"),
        "withdraw" => ("Withdraw", "ยกเลิกหลักสูตร"),
        "new_staff" => ("New staff account", "สร้างบัญชีเจ้าหน้าที่"),
        "display_name" => ("Full name", "ชื่อ-นามสกุล"),
        "roles" => ("Roles", "บทบาท"),
        "create" => ("Create account", "สร้างบัญชี"),
        "created" => ("Account created", "สร้างบัญชีแล้ว"),
        "otp" => (
            "One-time password: give it to the staff member in person. They choose their own at their first log-in at the facility, once the account has reached its gateway.",
            "รหัสผ่านใช้ครั้งเดียว: มอบให้เจ้าหน้าที่ด้วยตนเอง เจ้าหน้าที่จะตั้งรหัสผ่านใหม่เมื่อเข้าสู่ระบบครั้งแรกที่เรือนจำ หลังบัญชีซิงก์ถึงเกตเวย์แล้ว",
        ),
        "back" => ("Back to the dashboard", "กลับสู่หน้าหลัก"),
        "refused" => ("Not done", "ทำไม่สำเร็จ"),
        "role_national_admin" => ("national administrator", "ผู้ดูแลระบบระดับชาติ"),
        "role_sync_operator" => ("sync operator", "ผู้ควบคุมการซิงก์"),
        "role_auditor" => ("auditor", "ผู้ตรวจสอบ"),
        "language" => ("ภาษาไทย", "English"),
        "revoke" => ("Revoke", "เพิกถอน"),
        "clock" => ("Its clock", "นาฬิกาของเกตเวย์"),
        "clock_ok" => ("right", "ตรง"),
        "certificate" => ("Certificate", "ใบรับรอง"),
        "cert_until" => ("valid until", "ใช้ได้ถึง"),
        "cert_expires" => ("renew: expires", "ต้องต่ออายุ: หมดอายุ"),
        "cert_expired" => ("expired", "หมดอายุแล้ว"),
        "days" => ("days", "วัน"),
        "hub_cert_expires" => (
            "The hub's certificate expires on",
            "ใบรับรองของศูนย์กลางจะหมดอายุวันที่",
        ),
        "hub_cert_expired" => (
            "The hub's certificate expired on",
            "ใบรับรองของศูนย์กลางหมดอายุแล้วเมื่อวันที่",
        ),
        "hub_cert_then" => (
            "Every gateway refuses the hub once it has expired. At the CA, renew a copy of the hub's certificate (same name and key), put it back and reload the hub (no session is cut):",
            "เมื่อหมดอายุ เกตเวย์ทุกเครื่องจะปฏิเสธศูนย์กลาง ให้ต่ออายุสำเนาใบรับรองของศูนย์กลางที่ CA (ชื่อและกุญแจเดิม) นำกลับมาวาง แล้วสั่งให้ศูนย์กลางอ่านใบรับรองใหม่ (systemctl reload pathway-hub โดยไม่ตัดการเชื่อมต่อ):",
        ),
        "clock_fast" => ("fast by", "เร็วไป"),
        "clock_slow" => ("slow by", "ช้าไป"),
        "reason" => ("Reason", "เหตุผล"),
        "revoked" => ("Revoked gateways", "เกตเวย์ที่ถูกเพิกถอน"),
        "revoked_by" => ("by", "โดย"),
        "revoked_note" => (
            "A revoked gateway is refused at once and from then on; enrol the box again under a new id.",
            "เกตเวย์ที่ถูกเพิกถอนจะถูกปฏิเสธทันทีและตลอดไป ต้องลงทะเบียนเครื่องใหม่ด้วยรหัสใหม่",
        ),
        "nav_fleet" => ("Fleet", "เกตเวย์ทั้งหมด"),
        "facilities" => ("Facilities", "เรือนจำ"),
        "nav_programmes" => ("Programmes", "หลักสูตร"),
        "partners" => ("Partners", "หน่วยงานภาคี"),
        "nav_audit" => ("Audit trail", "บันทึกการตรวจสอบ"),
        "field_wrong" => ("Check the field", "โปรดตรวจสอบช่อง"),
        "first_steps" => (
            "Set up the country: first steps",
            "ตั้งค่าระบบของประเทศ: ขั้นตอนแรก",
        ),
        "step_facilities" => (
            "Add the facilities (code, names, region, time zone)",
            "เพิ่มเรือนจำ (รหัส ชื่อ ภูมิภาค เขตเวลา)",
        ),
        "step_programmes" => ("Add the programmes of the catalogue", "เพิ่มหลักสูตร"),
        "step_partners" => (
            "Add the partners people are referred to",
            "เพิ่มหน่วยงานภาคีที่รับการส่งต่อ",
        ),
        "step_staff" => (
            "Make staff accounts for each facility",
            "สร้างบัญชีเจ้าหน้าที่ของแต่ละเรือนจำ",
        ),
        "step_gateways" => (
            "Register each facility's gateway (after pathway enrol)",
            "ลงทะเบียนเกตเวย์ของแต่ละเรือนจำ (หลังคำสั่ง pathway enrol)",
        ),
        "do_this_next" => ("do this next", "ทำขั้นตอนนี้ต่อไป"),
        "no_facilities" => (
            "The registry has no facility yet: add the first below.",
            "ยังไม่มีเรือนจำในทะเบียน เพิ่มเรือนจำแรกด้านล่าง",
        ),
        "name_en" => ("Name (English)", "ชื่อ (ภาษาอังกฤษ)"),
        "name_th" => ("Name (Thai)", "ชื่อ (ภาษาไทย)"),
        "region" => ("Region", "ภูมิภาค"),
        "time_zone" => ("Time zone", "เขตเวลา"),
        "tz_missing" => ("not set", "ยังไม่ได้ตั้ง"),
        "capacity" => ("Places", "ความจุ"),
        "stale_hours" => (
            "Hours its gateway may go without being level before an alert",
            "จำนวนชั่วโมงที่เกตเวย์ไม่ตรงกับศูนย์กลางได้ก่อนแจ้งเตือน",
        ),
        "staff_accounts" => ("Staff accounts", "บัญชีเจ้าหน้าที่"),
        "edit" => ("Edit", "แก้ไข"),
        "add" => ("Add", "เพิ่ม"),
        "save" => ("Save", "บันทึก"),
        "add_facility" => ("Add a facility", "เพิ่มเรือนจำ"),
        "back_facilities" => ("Back to the facilities", "กลับสู่รายชื่อเรือนจำ"),
        "no_programmes" => (
            "The catalogue has no programme yet: add the first below.",
            "ยังไม่มีหลักสูตร เพิ่มหลักสูตรแรกด้านล่าง",
        ),
        "category" => ("Category", "ประเภท"),
        "weeks" => ("Weeks × sessions a week", "สัปดาห์ × ครั้งต่อสัปดาห์"),
        "weeks_long" => ("Weeks long", "จำนวนสัปดาห์"),
        "per_week" => ("Sessions a week", "ครั้งต่อสัปดาห์"),
        "title_en" => ("Title (English)", "ชื่อหลักสูตร (ภาษาอังกฤษ)"),
        "title_th" => ("Title (Thai)", "ชื่อหลักสูตร (ภาษาไทย)"),
        "description_en" => ("Description (English)", "รายละเอียด (ภาษาอังกฤษ)"),
        "description_th" => ("Description (Thai)", "รายละเอียด (ภาษาไทย)"),
        "add_programme" => ("Add a programme", "เพิ่มหลักสูตร"),
        "back_catalogue" => ("Back to the catalogue", "กลับสู่รายการหลักสูตร"),
        "cat_education" => ("education", "การศึกษา"),
        "cat_vocational" => ("vocational training", "ฝึกวิชาชีพ"),
        "cat_work" => ("work", "การทำงาน"),
        "cat_accredited_behavioural" => ("accredited behavioural", "โปรแกรมปรับพฤติกรรมที่รับรอง"),
        "cat_mental_health" => ("mental health", "สุขภาพจิต"),
        "cat_substance_use" => ("substance use", "การใช้สารเสพติด"),
        "cat_family" => ("family", "ครอบครัว"),
        "cat_faith" => ("faith", "ศาสนา"),
        "no_partners" => (
            "No partner yet: add the organisations people are referred to below.",
            "ยังไม่มีหน่วยงานภาคี เพิ่มหน่วยงานที่รับการส่งต่อด้านล่าง",
        ),
        "partner" => ("Organisation", "หน่วยงาน"),
        "partner_id" => ("Short id", "รหัสย่อ"),
        "kind" => ("Kind", "ประเภท"),
        "services" => ("Services", "บริการ"),
        "services_one_a_line" => ("Services (one a line)", "บริการ (บรรทัดละหนึ่งรายการ)"),
        "contact" => ("Contact", "ติดต่อ"),
        "active" => ("active", "ใช้งาน"),
        "inactive" => ("inactive", "ไม่ใช้งาน"),
        "deactivate" => ("Deactivate", "ระงับการใช้งาน"),
        "activate" => ("Make active", "เปิดใช้งาน"),
        "kind_ngo" => ("NGO", "องค์กรพัฒนาเอกชน"),
        "kind_employer" => ("employer", "นายจ้าง"),
        "kind_housing_provider" => ("housing provider", "ผู้จัดหาที่พักอาศัย"),
        "kind_clinic" => ("clinic", "สถานพยาบาล"),
        "add_partner" => ("Add a partner", "เพิ่มหน่วยงานภาคี"),
        "find" => ("Find", "ค้นหา"),
        "find_hint" => ("name or username", "ชื่อหรือชื่อผู้ใช้"),
        "no_staff" => ("No staff account here yet.", "ยังไม่มีบัญชีเจ้าหน้าที่"),
        "save_roles" => ("Save roles", "บันทึกบทบาท"),
        "disabled" => ("disabled", "ระงับแล้ว"),
        "otp_pending" => ("one-time password not used yet", "ยังไม่ได้ใช้รหัสผ่านครั้งเดียว"),
        "enable" => ("Enable", "เปิดใช้งาน"),
        "disable" => ("Disable", "ระงับ"),
        "reset_password" => ("Reset password", "ตั้งรหัสผ่านใหม่"),
        "otp_title" => ("One-time password", "รหัสผ่านใช้ครั้งเดียว"),
        "back_staff" => ("Back to the staff accounts", "กลับสู่บัญชีเจ้าหน้าที่"),
        "chain_intact" => (
            "The hub's audit chain is intact",
            "ห่วงโซ่บันทึกการตรวจสอบของศูนย์กลางสมบูรณ์",
        ),
        "chain_broken" => (
            "The hub's audit chain is broken at entry",
            "ห่วงโซ่บันทึกการตรวจสอบของศูนย์กลางขาดที่รายการ",
        ),
        "person" => ("Person", "บุคคล"),
        "staff_member" => ("Staff member", "เจ้าหน้าที่"),
        "action" => ("Action", "การกระทำ"),
        "from_day" => ("From", "ตั้งแต่"),
        "to_day" => ("To", "ถึง"),
        "filter" => ("Show", "แสดง"),
        "no_entries" => ("No entry matches.", "ไม่มีรายการที่ตรงกัน"),
        "who" => ("Who", "ผู้กระทำ"),
        "at_time" => ("When", "เวลา"),
        "chart_label" => (
            "The last 30 days: changes waiting each way, and the hours it was heard from",
            "30 วันที่ผ่านมา: รายการที่รอแต่ละทาง และชั่วโมงที่ติดต่อได้",
        ),
        "chart_contact" => (
            "heard from (and level, below)",
            "ติดต่อได้ (และข้อมูลตรงกัน ด้านล่าง)",
        ),
        "chart_span" => (
            "30 days, one column an hour; now at the right",
            "30 วัน คอลัมน์ละหนึ่งชั่วโมง ขวาสุดคือปัจจุบัน",
        ),
        "alert_audit_refused" => (
            "its audit trail would have been rewritten: refused, see the review queue",
            "มีการพยายามเขียนทับบันทึกการตรวจสอบ: ปฏิเสธแล้ว ดูรายการที่ต้องตรวจสอบ",
        ),
        "alert_stale" => (
            "not level with the hub for longer than its facility allows",
            "ข้อมูลไม่ตรงกับศูนย์กลางนานเกินกว่าที่เรือนจำกำหนด",
        ),
        "alert_two_boxes" => (
            "one certificate on two boxes: stop the copy and enrol it with its own bundle",
            "ใบรับรองเดียวใช้อยู่บนสองเครื่อง: หยุดเครื่องที่เป็นสำเนาและลงทะเบียนใหม่ด้วยชุดของตนเอง",
        ),
        "alert_backlog_growing" => (
            "what waits to reach it grew all day",
            "รายการที่รอส่งไปถึงเพิ่มขึ้นตลอดทั้งวัน",
        ),
        "drain" => (
            "to cross at the link's recent rate",
            "เวลาที่ใช้ส่งตามอัตราล่าสุดของการเชื่อมต่อ",
        ),
        "alert_refused_writes" => ("writes refused", "มีการเขียนที่ถูกปฏิเสธ"),
        "alert_clock_off" => (
            "its clock is off: set the time (NTP)",
            "นาฬิกาไม่ตรง: ตั้งเวลา (NTP)",
        ),
        "alert_certificate_due" => ("certificate due for renewal", "ใบรับรองต้องต่ออายุ"),
        "any" => ("any", "ทั้งหมด"),
        "newest_only" => (
            "Only the newest 500 are shown: narrow the filter.",
            "แสดงเฉพาะ 500 รายการล่าสุด โปรดจำกัดเงื่อนไขให้แคบลง",
        ),
        _ => ("?", "?"),
    };
    if l == Lang::Th { th } else { en }
}

pub(super) fn role_word(l: Lang, r: Role) -> &'static str {
    let (en, th) = match r {
        Role::PrisonOfficer => ("prison officer", "เจ้าหน้าที่ราชทัณฑ์"),
        Role::RecordsOfficer => ("records officer", "เจ้าหน้าที่ทะเบียน"),
        Role::Instructor => ("instructor", "ครูผู้สอน"),
        Role::CaseOfficer => ("case officer", "เจ้าหน้าที่ดูแลรายคดี"),
        Role::HealthStaff => ("health staff", "เจ้าหน้าที่สาธารณสุข"),
        Role::FacilityManager => ("facility manager", "ผู้บัญชาการเรือนจำ"),
        Role::FacilityIt => ("facility IT", "เจ้าหน้าที่ไอที"),
    };
    if l == Lang::Th { th } else { en }
}

/// The hub's audit actions, each with its words in English and Thai.
pub(super) const AUDIT_ACTIONS: &[(&str, &str, &str)] = &[
    ("login", "logged in", "เข้าสู่ระบบ"),
    ("login_failed", "log-in failed", "เข้าสู่ระบบไม่สำเร็จ"),
    (
        "login_throttled",
        "log-in held back",
        "ถูกระงับการเข้าสู่ระบบชั่วคราว",
    ),
    ("create_facility", "added a facility", "เพิ่มเรือนจำ"),
    (
        "follow_up",
        "recorded a six-week follow-up",
        "บันทึกการติดตามผล 6 สัปดาห์",
    ),
    ("edit_facility", "changed a facility", "แก้ไขเรือนจำ"),
    ("create_programme", "added a programme", "เพิ่มหลักสูตร"),
    ("edit_programme", "changed a programme", "แก้ไขหลักสูตร"),
    ("withdraw_programme", "withdrew a programme", "ยกเลิกหลักสูตร"),
    ("create_partner", "added a partner", "เพิ่มหน่วยงานภาคี"),
    (
        "deactivate_partner",
        "deactivated a partner",
        "ระงับหน่วยงานภาคี",
    ),
    (
        "activate_partner",
        "made a partner active",
        "เปิดใช้งานหน่วยงานภาคี",
    ),
    ("create_staff", "made a staff account", "สร้างบัญชีเจ้าหน้าที่"),
    (
        "change_staff_roles",
        "changed a staff member's roles",
        "เปลี่ยนบทบาทเจ้าหน้าที่",
    ),
    (
        "disable_staff",
        "disabled a staff account",
        "ระงับบัญชีเจ้าหน้าที่",
    ),
    ("enable_staff", "enabled a staff account", "เปิดใช้บัญชีเจ้าหน้าที่"),
    (
        "reset_staff_password",
        "reset a staff password",
        "ตั้งรหัสผ่านเจ้าหน้าที่ใหม่",
    ),
    (
        "import_people",
        "imported a register of people",
        "นำเข้าทะเบียนผู้ต้องขัง",
    ),
    ("import_staff", "imported staff accounts", "นำเข้าบัญชีเจ้าหน้าที่"),
    ("read_case", "read a case file", "เปิดอ่านแฟ้มรายคดี"),
    ("transfer_case", "transferred a person", "ย้ายบุคคล"),
    (
        "mark_reviewed",
        "marked an item reviewed",
        "ตรวจสอบรายการแล้ว",
    ),
    ("register_gateway", "registered a gateway", "ลงทะเบียนเกตเวย์"),
    ("revoke_gateway", "revoked a gateway", "เพิกถอนเกตเวย์"),
    (
        "certificate_sent",
        "sent a renewed certificate",
        "ส่งใบรับรองที่ต่ออายุ",
    ),
    ("courier_import", "imported a courier file", "นำเข้าไฟล์นำส่ง"),
];

/// An audit action in words, or its code when it has none.
pub(super) fn action_word(l: Lang, code: &str) -> String {
    AUDIT_ACTIONS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map_or_else(
            || code.to_owned(),
            |(_, en, th)| (if l == Lang::Th { *th } else { *en }).to_owned(),
        )
}

/// A form field's label, for a refusal that names it.
pub(super) fn field_word(l: Lang, field: &str) -> &'static str {
    let key = match field {
        "id" | "code" => "code",
        "name" => "name_en",
        "name_th" => "name_th",
        "region" => "region",
        "time_zone" => "time_zone",
        "capacity" => "capacity",
        "stale_after_hours" => "stale_hours",
        "title" => "title_en",
        "title_th" => "title_th",
        "description" => "description_en",
        "description_th" => "description_th",
        "duration_weeks" => "weeks_long",
        "sessions_per_week" => "per_week",
        "category" => "category",
        "kind" => "kind",
        "services" => "services",
        "contact" => "contact",
        "username" => "username",
        "display_name" => "display_name",
        "roles" => "roles",
        "facility" => "facility",
        "gateway" => "gateway",
        "reason" => "reason",
        "from" => "from_day",
        "to" => "to_day",
        _ => {
            return if l == Lang::Th {
                "ข้อมูล"
            } else {
                "input"
            };
        }
    };
    t(l, key)
}

/// How far a gateway's clock is from the hub's, in words ("fast by 7 min"), or "right".
pub(super) fn clock_words(l: Lang, ahead: Option<i64>) -> String {
    match ahead {
        Some(ms) if ms.abs() >= pathway_shared::status::CLOCK_OFF_AFTER => {
            let key = if ms > 0 { "clock_fast" } else { "clock_slow" };
            format!("{} {}", t(l, key), pathway_shared::status::ago(ms.abs(), 0))
        }
        Some(_) => t(l, "clock_ok").to_owned(),
        None => String::new(),
    }
}

/// How long ago `then` was ("3 h ago", "3 ชั่วโมงที่แล้ว"); without `ago`, the span alone.
pub(super) fn ago_words(l: Lang, now: i64, then: i64, ago: bool) -> String {
    let s = (now - then).max(0) / 1_000;
    let (n, en, th) = match s {
        0..120 => (s, "s", "วินาที"),
        120..7_200 => (s / 60, "min", "นาที"),
        7_200..172_800 => (s / 3_600, "h", "ชั่วโมง"),
        _ => (s / 86_400, "days", "วัน"),
    };
    match (l, ago) {
        (Lang::En, true) => format!("{n} {en} ago"),
        (Lang::En, false) => format!("{n} {en}"),
        (Lang::Th, true) => format!("{n} {th}ที่แล้ว"),
        (Lang::Th, false) => format!("{n} {th}"),
    }
}

/// A time as a date and a time of day, UTC.
pub(super) fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|d| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                d.year(),
                u8::from(d.month()),
                d.day(),
                d.hour(),
                d.minute()
            )
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word the pages ask for by name is in both languages; the names made at run time
    /// (`alert_…`, `cat_…`, `kind_…`, `role_…`, review reasons) are listed from their sources.
    #[test]
    fn every_word_the_pages_use_exists() {
        let sources = [
            include_str!("pages/mod.rs"),
            include_str!("pages/fleet.rs"),
            include_str!("pages/setup/mod.rs"),
            include_str!("pages/setup/facilities.rs"),
            include_str!("pages/setup/programmes.rs"),
            include_str!("pages/setup/partners.rs"),
            include_str!("pages/setup/staff.rs"),
            include_str!("pages/audit.rs"),
        ];
        let mut keys: Vec<String> = Vec::new();
        for src in sources {
            for part in src.split("t(l, \"").skip(1) {
                keys.push(part.split('"').next().unwrap_or_default().to_owned());
            }
        }
        keys.extend(
            pathway_shared::status::Alert::ALL
                .iter()
                .map(|a| format!("alert_{}", a.code())),
        );
        for c in [
            "education",
            "vocational",
            "work",
            "accredited_behavioural",
            "mental_health",
            "substance_use",
            "family",
            "faith",
        ] {
            keys.push(format!("cat_{c}"));
        }
        for k in ["ngo", "employer", "housing_provider", "clinic"] {
            keys.push(format!("kind_{k}"));
        }
        for r in ["national_admin", "sync_operator", "auditor"] {
            keys.push(format!("role_{r}"));
        }
        for r in [
            "edit_after_move",
            "transfer_not_made",
            "carried_by_hand",
            "audit_rewritten",
        ] {
            keys.push(r.to_owned());
        }
        for k in keys {
            assert_ne!(t(Lang::En, &k), "?", "{k} has no English");
            assert_ne!(t(Lang::Th, &k), "?", "{k} has no Thai");
        }
    }
}
