//! What the sample is made of: the national catalogue of programmes and partners, and the
//! names, languages and weekly patterns that the generator draws from.

use pathway_shared::model::{PartnerKind, ProgrammeCategory, Weekday};

/// The catalogue's titles in Thai, by code.
pub(super) const PROGRAMME_TITLES_TH: &[(&str, &str)] = &[
    ("LIT-1", "การอ่านออกเขียนได้สำหรับผู้ใหญ่ ระดับ 1"),
    ("NUM-1", "การคำนวณเพื่อชีวิตประจำวัน"),
    ("GRD-10", "เทียบเท่ามัธยมศึกษาปีที่ 4"),
    ("ENG-2", "ภาษาอังกฤษเป็นภาษาที่สอง"),
    ("WLD-1", "งานเชื่อมและขึ้นรูปโลหะ"),
    ("CAR-1", "งานช่างไม้และเครื่องเรือน"),
    ("AGR-1", "การปลูกพืชสวนและเกษตรรายย่อย"),
    ("TLR-1", "การตัดเย็บเสื้อผ้า"),
    ("KIT-1", "งานครัวและสุขอนามัยอาหาร"),
    ("LND-1", "งานซักรีด"),
    ("TSB-1", "ทักษะการคิด"),
    ("AMP-1", "การจัดการความโกรธ"),
    ("MHS-1", "กลุ่มการรับมือและสุขภาวะทางอารมณ์"),
    ("SUB-1", "กลุ่มฟื้นฟูจากการใช้สารเสพติด"),
    ("FAM-1", "การเลี้ยงดูบุตรและความสัมพันธ์ในครอบครัว"),
    ("FTH-1", "กลุ่มศึกษาศาสนาและจิตใจ"),
];

pub(super) const PROGRAMMES: &[(&str, &str, ProgrammeCategory, u32, Option<&str>)] = &[
    (
        "LIT-1",
        "Adult literacy, level 1",
        ProgrammeCategory::Education,
        24,
        Some("Adult literacy certificate"),
    ),
    (
        "NUM-1",
        "Functional numeracy",
        ProgrammeCategory::Education,
        16,
        None,
    ),
    (
        "GRD-10",
        "Grade 10 equivalency",
        ProgrammeCategory::Education,
        40,
        Some("Grade 10 certificate"),
    ),
    (
        "ENG-2",
        "English as an additional language",
        ProgrammeCategory::Education,
        20,
        None,
    ),
    (
        "WLD-1",
        "Welding and fabrication",
        ProgrammeCategory::Vocational,
        30,
        Some("Trade test level 1"),
    ),
    (
        "CAR-1",
        "Carpentry and joinery",
        ProgrammeCategory::Vocational,
        30,
        Some("Trade test level 1"),
    ),
    (
        "AGR-1",
        "Horticulture and small-scale farming",
        ProgrammeCategory::Vocational,
        20,
        None,
    ),
    (
        "TLR-1",
        "Tailoring",
        ProgrammeCategory::Vocational,
        18,
        None,
    ),
    (
        "KIT-1",
        "Kitchen work and food hygiene",
        ProgrammeCategory::Work,
        8,
        Some("Food hygiene certificate"),
    ),
    (
        "LND-1",
        "Laundry work party",
        ProgrammeCategory::Work,
        52,
        None,
    ),
    (
        "TSB-1",
        "Thinking skills",
        ProgrammeCategory::AccreditedBehavioural,
        10,
        Some("Accredited programme completion"),
    ),
    (
        "AMP-1",
        "Anger management",
        ProgrammeCategory::AccreditedBehavioural,
        8,
        None,
    ),
    (
        "MHS-1",
        "Coping and emotional wellbeing group",
        ProgrammeCategory::MentalHealth,
        8,
        None,
    ),
    (
        "SUB-1",
        "Substance use recovery group",
        ProgrammeCategory::SubstanceUse,
        12,
        None,
    ),
    (
        "FAM-1",
        "Parenting from a distance",
        ProgrammeCategory::Family,
        6,
        None,
    ),
    (
        "FTH-1",
        "Faith and life skills",
        ProgrammeCategory::Faith,
        10,
        None,
    ),
];

pub(super) const PARTNERS: &[(&str, &str, PartnerKind, &[&str])] = &[
    (
        "ngo-reentry",
        "Second Chance Re-entry Trust",
        PartnerKind::Ngo,
        &["mentoring", "family mediation"],
    ),
    (
        "ngo-literacy",
        "Read to Rise",
        PartnerKind::Ngo,
        &["literacy tutoring"],
    ),
    (
        "emp-coop",
        "Khomas Builders Cooperative",
        PartnerKind::Employer,
        &["apprenticeship", "day labour"],
    ),
    (
        "emp-farm",
        "Green Valley Farms",
        PartnerKind::Employer,
        &["seasonal work"],
    ),
    (
        "hsg-shelter",
        "Safe Harbour Housing",
        PartnerKind::HousingProvider,
        &["emergency housing", "supported housing"],
    ),
    (
        "hsg-city",
        "City Housing Office",
        PartnerKind::HousingProvider,
        &["council housing application"],
    ),
    (
        "cln-central",
        "Central Community Clinic",
        PartnerKind::Clinic,
        &[
            "HIV care handover",
            "TB follow-up",
            "mental health follow-up",
        ],
    ),
    (
        "cln-rehab",
        "New Dawn Recovery Centre",
        PartnerKind::Clinic,
        &["substance use treatment"],
    ),
];

/// Where a sample facility is: the names of its people and staff, their languages, its
/// region, time zone and how it names units and rooms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Country {
    #[default]
    Namibia,
    Thailand,
}

impl Country {
    /// Given names: (the stem of a staff username, the name as written).
    pub(super) fn given(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Country::Namibia => &[
                ("johannes", "Johannes"),
                ("petrus", "Petrus"),
                ("andreas", "Andreas"),
                ("ndapewa", "Ndapewa"),
                ("tuyeni", "Tuyeni"),
                ("selma", "Selma"),
                ("martha", "Martha"),
                ("simon", "Simon"),
                ("elago", "Elago"),
                ("kaarina", "Kaarina"),
                ("festus", "Festus"),
                ("hilma", "Hilma"),
                ("tangeni", "Tangeni"),
                ("immanuel", "Immanuel"),
            ],
            Country::Thailand => &[
                ("somchai", "สมชาย"),
                ("anan", "อนันต์"),
                ("niran", "นิรันดร์"),
                ("kittisak", "กิตติศักดิ์"),
                ("malee", "มาลี"),
                ("siriporn", "ศิริพร"),
                ("thanawat", "ธนวัฒน์"),
                ("wichai", "วิชัย"),
                ("ploy", "พลอย"),
                ("chaiyaporn", "ชัยพร"),
                ("sudarat", "สุดารัตน์"),
                ("prasert", "ประเสริฐ"),
                ("wanphen", "วันเพ็ญ"),
                ("somsak", "สมศักดิ์"),
            ],
        }
    }

    pub(super) fn family(self) -> &'static [&'static str] {
        match self {
            Country::Namibia => &[
                "Shikongo",
                "Nghipondoka",
                "Amutenya",
                "Iipumbu",
                "Haufiku",
                "Nakale",
                "Uugwanga",
                "Kambonde",
                "Shilongo",
                "Hamutenya",
            ],
            Country::Thailand => &[
                "ศรีสุข",
                "ชัยสิทธิ์",
                "บุญมี",
                "วงศ์สกุล",
                "รัตนากร",
                "สุขสวัสดิ์",
                "พรหมมา",
                "แก้วมณี",
                "ทองดี",
                "จันทร์เพ็ญ",
            ],
        }
    }

    pub(super) fn languages(self) -> &'static [&'static str] {
        match self {
            Country::Namibia => &[
                "Oshiwambo",
                "Afrikaans",
                "English",
                "Otjiherero",
                "Nama/Damara",
            ],
            Country::Thailand => &["Thai", "Lao", "Karen", "Burmese", "Khmer"],
        }
    }

    /// (region, ISO country code, IANA time zone).
    pub(super) fn place(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Country::Namibia => ("Khomas", "NA", "Africa/Windhoek"),
            Country::Thailand => ("Bangkok", "TH", "Asia/Bangkok"),
        }
    }

    pub(super) fn unit(self, n: usize) -> String {
        match self {
            Country::Namibia => format!("Unit {}", ["A", "B", "C", "D", "E"][n % 5]),
            Country::Thailand => format!("แดน {}", 1 + n % 5),
        }
    }

    pub(super) fn rooms(self) -> [&'static str; 3] {
        match self {
            Country::Namibia => ["Classroom", "Workshop", "Hall"],
            Country::Thailand => ["ห้องเรียน", "โรงฝึกงาน", "หอประชุม"],
        }
    }
}

pub(super) const DAYS: &[&[Weekday]] = &[
    &[Weekday::Mon, Weekday::Wed, Weekday::Fri],
    &[Weekday::Tue, Weekday::Thu],
    &[
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ],
    &[Weekday::Wed],
    &[Weekday::Sat, Weekday::Sun],
];
