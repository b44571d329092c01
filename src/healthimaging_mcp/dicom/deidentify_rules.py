"""The DICOM PS3.15 Basic Application Level Confidentiality Profile as data: the action for each attribute.

Table E.1-1 of PS3.15 (2023 edition), by DICOM keyword. Action codes as the standard writes them: D replace
with a dummy value, Z replace with an empty (or dummy) value, X remove, U replace the UID consistently, and
the combinations (X/Z, X/D, Z/D, X/Z/D, X/Z/U*) where the choice depends on the IOD. Beyond the table the
profile removes private attributes, curves (50xx) and overlay data and comments (60xx,3000 / 60xx,4000);
`deidentify` applies those rules. Attributes the table does not name are kept.
"""

from __future__ import annotations

__all__ = ["PROFILE_ACTIONS"]

_TABLE = {
    "D": """
        AcquisitionFieldOfViewLabel AnnotationGroupLabel AnnotationGroupUID AssertionDateTime
        AttributeModificationDateTime BeamHoldTransitionDateTime CertificateOfSigner
        ClinicalTrialProtocolEthicsCommitteeName ClinicalTrialProtocolID ClinicalTrialSponsorName
        ClinicalTrialSubjectID ClinicalTrialSubjectReadingID ContainerIdentifier ContentSequence
        ContextGroupLocalVersion ContextGroupVersion Date DateTime DecayCorrectionDateTime DestinationAE DeviceLabel
        DigitalSignatureDateTime EffectiveDateTime EncapsulatedDocument EntityLabel EntityLongLabel
        ExclusionStartDateTime FlowIdentifier FlowIdentifierSequence FrameAcquisitionDateTime FrameOriginTimestamp
        FrameReferenceDateTime FunctionalSyncPulse GraphicAnnotationSequence HangingProtocolCreationDateTime
        ImpedanceMeasurementDateTime InformationIssueDateTime InterlockDateTime InterlockDescription
        InterlockOriginDescription ModifyingSystem OverrideDateTime PersonIdentificationCodeSequence PersonName
        RTPlanLabel RTPrescriptionLabel RTToleranceSetLabel RadiationDoseIdentificationLabel
        RadiationDoseInVivoMeasurementLabel RadiationGenerationModeLabel ReasonForTheAttributeModification
        RecordedRTControlPointDateTime ReferencedDateTime SafePositionExitDate SafePositionExitTime
        SafePositionReturnDate SafePositionReturnTime SelectorAEValue SelectorASValue SelectorDAValue
        SelectorDTValue SelectorLOValue SelectorLTValue SelectorOBValue SelectorPNValue SelectorSHValue
        SelectorSTValue SelectorTMValue SelectorUNValue SelectorURValue SelectorUTValue SourceEndDateTime
        SourceIdentifier SourceStartDateTime SourceStrengthReferenceDate SourceStrengthReferenceTime
        SpecimenIdentifier StructureSetLabel Time TreatmentControlPointDate TreatmentControlPointTime
        TreatmentPositionGroupLabel TreatmentToleranceViolationDateTime TreatmentToleranceViolationDescription
        UserContentLabel UserContentLongLabel VerificationDateTime VerifyingObserverName VerifyingObserverSequence
        VerifyingOrganization XRayDetectorID XRaySourceID
    """,
    "Z": """
        AccessionNumber CalibrationDateTime ClinicalTrialCoordinatingCenterName ClinicalTrialProtocolName
        ClinicalTrialSiteID ClinicalTrialSiteName ClinicalTrialTimePointID ConceptualVolumeCombinationDescription
        ConceptualVolumeDescription ConsultingPhysicianName DeviceAlternateIdentifier
        FillerOrderNumberImagingServiceRequest FractionationNotes IssuerOfTheContainerIdentifierSequence
        IssuerOfTheSpecimenIdentifierSequence ManufacturerDeviceIdentifier ParticipationDateTime PatientBirthDate
        PatientID PatientName PatientSex PlacerOrderNumberImagingServiceRequest PrescriptionNotes
        PrescriptionNotesSequence ROIInterpreter ROIName RTAccessoryDeviceSlotID RTAccessoryHolderSlotID
        RTPhysicianIntentNarrative RadiationGenerationModeDescription ReasonForSuperseding ReferringPhysicianName
        ReviewDate ReviewTime SourceOfPreviousValues SpecimenPreparationSequence StructureSetDate StructureSetTime
        StudyDate StudyID StudyTime TreatmentTechniqueNotes VerifyingObserverIdentificationCodeSequence
    """,
    "X": """
        AcquisitionComments AcquisitionProtocolDescription ActualHumanPerformersSequence AdditionalPatientHistory
        AddressTrial AdmissionID AdmittingDate AdmittingDiagnosesCodeSequence AdmittingDiagnosesDescription
        AdmittingTime AffectedSOPInstanceUID Allergies AnnotationGroupDescription ApprovalStatusDateTime Arbitrary
        AssertionExpirationDateTime AuthorObserverSequence BeamDescription BolusDescription BranchOfService
        CalibrationDate CalibrationTime CameraOwnerName CassetteID CertifiedTimestamp
        ClinicalTrialProtocolEthicsCommitteeApprovalNumber ClinicalTrialSeriesDescription ClinicalTrialSeriesID
        ClinicalTrialTimePointDescription CommentsOnRadiationDose CommentsOnThePerformedProcedureStep
        CompensatorDescription ConfidentialityConstraintOnPatientDataDescription
        ConsultingPhysicianIdentificationSequence ContainerComponentID ContainerDescription
        ContentCreatorIdentificationCodeSequence ContrastBolusStartTime ContrastBolusStopTime ContributionDateTime
        ContributionDescription CountryOfResidence CreationDate CreationTime CurrentObserverTrial
        CurrentPatientLocation CurveDate CurveTime CustodialOrganizationSequence DataSetTrailingPadding
        DateOfDocumentOrVerbalTransactionTrial DateOfInstallation DateOfLastCalibration DateOfManufacture
        DateOfSecondaryCapture DateTimeOfLastCalibration DecompositionDescription DerivationDescription
        DeviceDescription DeviceSettingDescription DigitalSignaturesSequence DischargeDate
        DischargeDiagnosisDescription DischargeTime DisplacementReferenceLabel DistributionAddress DistributionName
        DoseReferenceDescription EntityDescription EntityName EquipmentFrameOfReferenceDescription
        EthicsCommitteeApprovalEffectivenessEndDate EthicsCommitteeApprovalEffectivenessStartDate EthnicGroup
        ExpectedCompletionDateTime FilterLookupTableDescription FindingsGroupRecordingDateTrial
        FindingsGroupRecordingTimeTrial FixationDeviceDescription FractionGroupDescription FrameComments GPSAltitude
        GPSAltitudeRef GPSAreaInformation GPSDOP GPSDateStamp GPSDestBearing GPSDestBearingRef GPSDestDistance
        GPSDestDistanceRef GPSDestLatitude GPSDestLatitudeRef GPSDestLongitude GPSDestLongitudeRef GPSDifferential
        GPSImgDirection GPSImgDirectionRef GPSLatitude GPSLatitudeRef GPSLongitude GPSLongitudeRef GPSMapDatum
        GPSMeasureMode GPSProcessingMethod GPSSatellites GPSSpeed GPSSpeedRef GPSStatus GPSTimeStamp GPSTrack
        GPSTrackRef GPSVersionID GantryID GeneratorID HL7DocumentEffectiveTime HumanPerformerName
        HumanPerformerOrganization IconImageSequence IdentifyingComments ImageComments ImagePresentationComments
        ImagingServiceRequestComments Impressions InstanceCoercionDateTime InstanceOriginStatus InstitutionAddress
        InstitutionalDepartmentName InstitutionalDepartmentTypeCodeSequence InsurancePlanIdentification
        IntendedFractionStartTime IntendedRecipientsOfResultsIdentificationSequence InterpretationApprovalDate
        InterpretationApprovalTime InterpretationApproverSequence InterpretationAuthor
        InterpretationDiagnosisDescription InterpretationID InterpretationIDIssuer InterpretationRecordedDate
        InterpretationRecordedTime InterpretationRecorder InterpretationText InterpretationTranscriber
        InterpretationTranscriptionDate InterpretationTranscriptionTime InterventionDrugStartTime
        InterventionDrugStopTime IssueDateOfImagingServiceRequest IssueTimeOfImagingServiceRequest
        IssuerOfAdmissionID IssuerOfAdmissionIDSequence IssuerOfPatientID IssuerOfServiceEpisodeID
        IssuerOfServiceEpisodeIDSequence LastMenstrualDate LensMake LensModel LensSerialNumber LensSpecification
        LongDeviceDescription MAC MakerNote MedicalAlerts MedicalRecordLocator MilitaryRank
        ModifiedAttributesSequence ModifiedImageDate ModifiedImageDescription ModifiedImageTime ModifyingDeviceID
        MultienergyAcquisitionDescription NameOfPhysiciansReadingStudy NamesOfIntendedRecipientsOfResults NetworkID
        NonconformingDataElementValue NonconformingModifiedAttributesSequence ObservationDateTrial
        ObservationStartDateTime ObservationTimeTrial Occupation OrderCallbackPhoneNumber
        OrderCallbackTelecomInformation OrderEnteredBy OrderEntererLocation OriginalAttributesSequence Originator
        OtherPatientIDs OtherPatientIDsSequence OtherPatientNames OverlayDate OverlayTime ParticipantSequence
        PatientAddress PatientAge PatientBirthName PatientBirthTime PatientComments PatientInstitutionResidence
        PatientInsurancePlanCodeSequence PatientMotherBirthName PatientPrimaryLanguageCodeSequence
        PatientPrimaryLanguageModifierCodeSequence PatientReligiousPreference PatientSetupPhotoDescription
        PatientSize PatientState PatientTelecomInformation PatientTelephoneNumbers PatientTransportArrangements
        PatientTreatmentPreparationMethodDescription PatientTreatmentPreparationProcedureParameterDescription
        PatientWeight PerformedLocation PerformedProcedureStepDescription PerformedProcedureStepEndDate
        PerformedProcedureStepEndDateTime PerformedProcedureStepEndTime PerformedProcedureStepID
        PerformedProcedureStepStartDate PerformedProcedureStepStartDateTime PerformedProcedureStepStartTime
        PerformedStationAETitle PerformedStationGeographicLocationCodeSequence PerformedStationName
        PerformedStationNameCodeSequence PerformingPhysicianIdentificationSequence PerformingPhysicianName
        PersonAddress PersonTelecomInformation PersonTelephoneNumbers PhysicianApprovingInterpretation
        PhysiciansOfRecord PhysiciansOfRecordIdentificationSequence PhysiciansReadingStudyIdentificationSequence
        PlateID PositionAcquisitionTemplateDescription PositionAcquisitionTemplateName PreMedication PregnancyStatus
        PrescriptionDescription PresentationCreationDate PresentationCreationTime PriorTreatmentDoseDescription
        ProcedureStepCancellationDateTime ProductExpirationDateTime PyramidDescription PyramidLabel ROIDescription
        ROIGenerationDescription ROIObservationDescription ROIObservationLabel RTPlanDescription RTPlanName
        RadiopharmaceuticalStartDateTime RadiopharmaceuticalStartTime RadiopharmaceuticalStopDateTime
        RadiopharmaceuticalStopTime ReasonForOmissionDescription ReasonForRequestedProcedureCodeSequence
        ReasonForStudy ReasonForTheImagingServiceRequest ReasonForTheRequestedProcedure ReasonForVisit
        ReasonForVisitCodeSequence ReceivingAE ReferencedDigitalSignatureSequence ReferencedPatientAliasSequence
        ReferencedPatientPhotoSequence ReferencedPatientSequence ReferencedSOPInstanceMACSequence
        ReferringPhysicianAddress ReferringPhysicianIdentificationSequence ReferringPhysicianTelephoneNumbers
        RegionOfResidence RequestAttributesSequence RequestedContrastAgent RequestedProcedureComments
        RequestedProcedureID RequestedProcedureLocation RequestedSeriesDescription RequestingAE RequestingPhysician
        RequestingService RespiratoryMotionCompensationTechniqueDescription ResponsibleOrganization
        ResponsiblePerson ResultsComments ResultsDistributionListSequence ResultsID ResultsIDIssuer RetrieveAETitle
        SOPAuthorizationDateTime ScheduledAdmissionDate ScheduledAdmissionTime ScheduledDischargeDate
        ScheduledDischargeTime ScheduledHumanPerformersSequence ScheduledPatientInstitutionResidence
        ScheduledPerformingPhysicianIdentificationSequence ScheduledPerformingPhysicianName
        ScheduledProcedureStepDescription ScheduledProcedureStepEndDate ScheduledProcedureStepEndTime
        ScheduledProcedureStepExpirationDateTime ScheduledProcedureStepID ScheduledProcedureStepLocation
        ScheduledProcedureStepModificationDateTime ScheduledProcedureStepStartDate
        ScheduledProcedureStepStartDateTime ScheduledProcedureStepStartTime ScheduledStationAETitle
        ScheduledStationGeographicLocationCodeSequence ScheduledStationName ScheduledStationNameCodeSequence
        ScheduledStudyLocation ScheduledStudyLocationAETitle ScheduledStudyStartDate ScheduledStudyStartTime
        ScheduledStudyStopDate ScheduledStudyStopTime SeriesDescription ServiceEpisodeDescription ServiceEpisodeID
        SetupTechniqueDescription ShieldingDeviceDescription SlideIdentifier SmokingStatus SourceManufacturer
        SpecialNeeds SpecimenAccessionNumber SpecimenDetailedDescription SpecimenShortDescription StationAETitle
        StructureSetDescription StructureSetName StudyArrivalDate StudyArrivalTime StudyComments StudyCompletionDate
        StudyCompletionTime StudyDescription StudyIDIssuer StudyReadDate StudyReadTime StudyVerifiedDate
        StudyVerifiedTime SubstanceAdministrationDateTime TelephoneNumberTrial TemplateLocalVersion TemplateVersion
        TextComments TextString TimeOfDocumentCreationOrVerbalTransactionTrial TimeOfLastCalibration
        TimeOfSecondaryCapture TimezoneOffsetFromUTC TopicAuthor TopicKeywords TopicSubject TopicTitle
        TransducerIdentificationSequence TreatmentSites UDISequence UniqueDeviceIdentifier
        VerbalSourceIdentifierCodeSequenceTrial VerbalSourceTrial VisitComments WaveformFilterDescription
        XRayDetectorLabel
    """,
    "U": """
        AcquisitionUID ConcatenationUID ConceptualVolumeUID ConstituentConceptualVolumeUID DeviceUID
        DigitalSignatureUID DimensionOrganizationUID DoseReferenceUID DosimetricObjectiveUID
        FailedSOPInstanceUIDList FiducialUID FrameOfReferenceUID InstanceCreatorUID IrradiationEventUID
        LargePaletteColorLookupTableUID ManufacturerDeviceClassUID MediaStorageSOPInstanceUID MultiplexGroupUID
        ObservationSubjectUIDTrial ObservationUID PaletteColorLookupTableUID PatientSetupUID
        PresentationDisplayCollectionUID PresentationSequenceCollectionUID PyramidUID RTTreatmentPhaseUID
        ReferencedConceptualVolumeUID ReferencedDoseReferenceUID ReferencedDosimetricObjectiveUID
        ReferencedFiducialsUID ReferencedFrameOfReferenceUID
        ReferencedGeneralPurposeScheduledProcedureStepTransactionUID ReferencedObservationUIDTrial
        ReferencedSOPInstanceUID ReferencedSOPInstanceUIDInFile ReferencedTreatmentPositionGroupUID
        RelatedFrameOfReferenceUID RequestedSOPInstanceUID SOPInstanceUID SeriesInstanceUID
        SourceConceptualVolumeUID SourceFrameOfReferenceUID SpecimenUID StorageMediaFileSetUID StudyInstanceUID
        SynchronizationFrameOfReferenceUID TargetUID TemplateExtensionCreatorUID TemplateExtensionOrganizationUID
        TrackingUID TransactionUID TreatmentPositionGroupUID TreatmentSessionUID UID
    """,
    "Z/D": """
        ContentCreatorName ContentDate ContentTime ContrastBolusAgent InstructionPerformedDateTime
    """,
    "X/Z": """
        AcquisitionContextSequence AcquisitionDate AcquisitionTime BarcodeValue LabelText PatientSexNeutered
        ReferencedStudySequence RequestedProcedureDescription ReviewerName SourceSerialNumber TreatmentMachineName
    """,
    "X/D": """
        AcquisitionDeviceProcessingDescription DateOfLastDetectorCalibration DetectorID EndAcquisitionDateTime
        FirstTreatmentDate InstanceCreationDate IntendedPhaseEndDate IntendedPhaseStartDate MostRecentTreatmentDate
        ObservationDateTime OperatorIdentificationSequence ProtocolName RTPlanDate RTPlanTime
        RTTreatmentApproachLabel SeriesDate SeriesTime StartAcquisitionDateTime TimeOfLastDetectorCalibration
        TreatmentDate TreatmentSite TreatmentTime
    """,
    "X/Z/D": """
        AcquisitionDateTime DeviceSerialNumber InstanceCreationTime InstitutionCodeSequence InstitutionName
        OperatorsName ReferencedPerformedProcedureStepSequence StationName
    """,
    "X/Z/U*": """
        ReferencedImageSequence SourceImageSequence
    """,
}

PROFILE_ACTIONS: dict[str, str] = {keyword: code for code, text in _TABLE.items() for keyword in text.split()}
"""DICOM keyword → the profile's action code."""
